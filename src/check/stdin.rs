//! Standard input as an input: when it is a regular file, its whole content is checked like any
//! other file's (`Predicate::Stdin`); otherwise what it is (`/dev/null`, a terminal...) must be
//! what it was (`Predicate::StdinIs`), see notes/0002-stdin.md.
//!
//! The file is read through a new open of `/proc/<pid>/fd/0`, with its own offset starting at 0,
//! never through descriptor 0 itself: the command that runs or is replayed afterwards may need to
//! read its standard input from where it stands.

use super::fingerprint::read_hash;
use model::check::StdinSource;
use model::entry::Uncacheable;
use model::observe::Observation;
use model::predicate::StdinKind;
use model::Hash;
use std::cell::OnceCell;
use std::fs::File;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, OpenOptionsExt};
use std::path::PathBuf;

/// The standard input of a live process, hashed at most once, on first use.
#[derive(Debug)]
pub struct LiveStdin {
    /// The `/proc` link of the descriptor.
    link: PathBuf,
    /// What the descriptor is (decided when the source is made).
    kind: StdinKind,
    /// `(st_dev, st_ino)` of the open file, unless the descriptor is closed.
    id: Option<(u64, u64)>,
    hash: OnceCell<Option<Hash>>,
    /// `(st_dev, st_ino)` of the files on descriptors 1 and 2, where regular files.
    streams: [Option<(u64, u64)>; 2],
}

impl LiveStdin {
    /// Returns the standard input of this process.
    pub fn new() -> LiveStdin {
        LiveStdin::at(PathBuf::from("/proc/self/fd/0")).with_streams_of("/proc/self/fd")
    }

    /// Returns the standard input of process `pid` (a tracee about to be skipped in place).
    pub fn of_process(pid: i32) -> LiveStdin {
        let fds = format!("/proc/{pid}/fd");
        LiveStdin::at(PathBuf::from(format!("{fds}/0"))).with_streams_of(&fds)
    }

    /// Notes the regular files behind descriptors 1 and 2 of the `/proc` descriptor directory
    /// `fds` (`model::check::StdinSource::output_files`).
    fn with_streams_of(mut self, fds: &str) -> LiveStdin {
        let regular = |fd: u8| {
            let m = std::fs::metadata(format!("{fds}/{fd}")).ok()?;
            m.file_type().is_file().then(|| (m.dev(), m.ino()))
        };
        self.streams = [regular(1), regular(2)];
        self
    }

    /// Returns the standard input behind the `/proc` descriptor link `link`.
    pub(super) fn at(link: PathBuf) -> LiveStdin {
        // `stat` follows the magic link to the open file itself, as `fstat(0)` would.
        let (kind, id) = match std::fs::metadata(&link) {
            Ok(m) if m.file_type().is_fifo() && drained(&link) => {
                (StdinKind::Null, Some((m.dev(), m.ino())))
            }
            Ok(m) => (StdinKind::of_mode(m.mode(), m.rdev()), Some((m.dev(), m.ino()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (StdinKind::Closed, None),
            Err(_) => (StdinKind::Other, None),
        };
        LiveStdin { link, kind, id, hash: OnceCell::new(), streams: [None, None] }
    }

    /// Returns `(st_dev, st_ino)` of the open file, unless the descriptor is closed.
    pub fn identity(&self) -> Option<(u64, u64)> {
        self.id
    }

    /// Returns what a run starting with this standard input depends on: its content if it is a
    /// regular file, else what it is. A regular file that cannot be read (it vanished, it is
    /// not readable) makes the run uncacheable.
    pub fn observation(&self) -> Observation {
        match (self.kind, self.stdin_hash()) {
            (StdinKind::File, Some(hash)) => Observation::StdinFile { hash },
            (StdinKind::File, None) => {
                Observation::Uncacheable(Uncacheable::InputRaced { path: b"<stdin>".to_vec() })
            }
            (kind, _) => Observation::StdinIs { kind },
        }
    }
}

/// Reports whether the pipe behind the `/proc` link `link` is empty and has no writer left: a
/// new read end of it, polled, shows a hang-up and no data. (An anonymous pipe reports the
/// hang-up to a reader opened after the last writer closed; a named FIFO does not, and is
/// then taken for a live stream.) Opening a pipe's read end never blocks with `O_NONBLOCK`,
/// and nothing is read from it.
fn drained(link: &std::path::Path) -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd as _;
    let flags = nix::fcntl::OFlag::O_NONBLOCK | nix::fcntl::OFlag::O_NOCTTY;
    let Ok(file) = std::fs::OpenOptions::new().read(true).custom_flags(flags.bits()).open(link)
    else {
        return false;
    };
    let mut fds = [PollFd::new(file.as_fd(), PollFlags::POLLIN)];
    if poll(&mut fds, PollTimeout::ZERO) != Ok(1) {
        return false;
    }
    fds[0]
        .revents()
        .is_some_and(|r| r.contains(PollFlags::POLLHUP) && !r.contains(PollFlags::POLLIN))
}

impl Default for LiveStdin {
    fn default() -> Self {
        LiveStdin::new()
    }
}

impl StdinSource for LiveStdin {
    fn stdin_identity(&self) -> Option<(u64, u64)> {
        (self.kind == StdinKind::File).then_some(self.id).flatten()
    }

    fn output_files(&self) -> [Option<(u64, u64)>; 2] {
        self.streams
    }

    fn stdin_hash(&self) -> Option<Hash> {
        *self.hash.get_or_init(|| {
            if self.kind != StdinKind::File {
                return None;
            }
            let flags = nix::fcntl::OFlag::O_NONBLOCK | nix::fcntl::OFlag::O_NOCTTY;
            let mut file: File = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(flags.bits())
                .open(&self.link)
                .ok()?;
            if !file.metadata().is_ok_and(|m| m.file_type().is_file()) {
                return None;
            }
            read_hash(&mut file).ok()
        })
    }

    fn stdin_kind(&self) -> StdinKind {
        self.kind
    }
}
