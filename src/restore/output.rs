//! Replaying recorded output: bytes written back to a descriptor exactly as the command wrote
//! them, at the descriptor's current offset (so `O_APPEND` and shared offsets behave as they
//! would have for the command itself).

use super::error::RestoreError;
use nix::errno::Errno;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Duration;

/// How a replay of output ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Replayed {
    /// Every byte was written.
    All,
    /// The reader went away (`EPIPE`); the rest was dropped, as it would have been.
    PipeClosed,
}

/// Writes all of `bytes` to `fd`, retrying on `EINTR`, partial writes and, for a non-blocking
/// descriptor, `EAGAIN`. A closed pipe stops the replay quietly.
pub fn write_all_fd(fd: BorrowedFd<'_>, bytes: &[u8]) -> Result<Replayed, RestoreError> {
    let mut rest = bytes;
    while !rest.is_empty() {
        match nix::unistd::write(fd, rest) {
            Ok(0) => {
                let source = std::io::Error::from(std::io::ErrorKind::WriteZero);
                return Err(RestoreError::Output { fd: fd.as_raw_fd(), source });
            }
            Ok(n) => rest = &rest[n.min(rest.len())..],
            Err(Errno::EINTR) => {}
            // Someone made the descriptor non-blocking; wait for room rather than lose output.
            Err(Errno::EAGAIN) => std::thread::sleep(Duration::from_millis(1)),
            Err(Errno::EPIPE) => return Ok(Replayed::PipeClosed),
            Err(e) => {
                let source = std::io::Error::from_raw_os_error(e as i32);
                return Err(RestoreError::Output { fd: fd.as_raw_fd(), source });
            }
        }
    }
    Ok(Replayed::All)
}
