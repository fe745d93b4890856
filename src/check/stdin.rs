//! Standard input as an input: when it is a regular file, its whole content is checked like any
//! other file's (`Predicate::Stdin`, see notes/0002-stdin.md).
//!
//! The file is read through a new open of `/proc/<pid>/fd/0`, with its own offset starting at 0,
//! never through descriptor 0 itself: the command that runs or is replayed afterwards may need to
//! read its standard input from where it stands.

use super::fingerprint::read_hash;
use model::check::StdinSource;
use model::Hash;
use std::cell::OnceCell;
use std::fs::File;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

/// The standard input of a live process, hashed at most once, on first use.
#[derive(Debug)]
pub struct LiveStdin {
    /// The `/proc` link of the descriptor.
    link: PathBuf,
    /// Whether the descriptor is a regular file (decided when the source is made).
    regular: bool,
    hash: OnceCell<Option<Hash>>,
}

impl LiveStdin {
    /// Returns the standard input of this process.
    pub fn new() -> LiveStdin {
        LiveStdin::at(PathBuf::from("/proc/self/fd/0"))
    }

    /// Returns the standard input of process `pid` (a tracee about to be skipped in place).
    pub fn of_process(pid: i32) -> LiveStdin {
        LiveStdin::at(PathBuf::from(format!("/proc/{pid}/fd/0")))
    }

    /// Returns the standard input behind the `/proc` descriptor link `link`.
    pub(super) fn at(link: PathBuf) -> LiveStdin {
        // `stat` follows the magic link to the open file itself, as `fstat(0)` would.
        let regular = std::fs::metadata(&link).is_ok_and(|m| m.file_type().is_file());
        LiveStdin { link, regular, hash: OnceCell::new() }
    }
}

impl Default for LiveStdin {
    fn default() -> Self {
        LiveStdin::new()
    }
}

impl StdinSource for LiveStdin {
    fn stdin_hash(&self) -> Option<Hash> {
        *self.hash.get_or_init(|| {
            if !self.regular {
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
}
