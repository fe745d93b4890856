//! An entry: one recorded run of a command, with its inputs, outputs and outcome.

use crate::effect::Effect;
use crate::hash::Hash;
use crate::key::CommandKey;
use crate::predicate::Predicate;

/// How a run ended.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "rkyv", derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize))]
#[cfg_attr(feature = "rkyv", rkyv(derive(Debug), attr(allow(missing_docs))))]
pub enum ExitStatus {
    /// Exited with this code.
    Code(i32),
    /// Killed by this signal.
    Signal(i32),
}

impl ExitStatus {
    /// Returns the status a shell would report: the code, or 128 + the signal number.
    pub fn shell_code(self) -> i32 {
        match self {
            ExitStatus::Code(c) => c,
            ExitStatus::Signal(s) => 128 + s,
        }
    }

    /// Reports whether the run succeeded (exit code 0).
    pub fn success(self) -> bool {
        self == ExitStatus::Code(0)
    }
}

/// A captured output stream: its content is an object in the store.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "rkyv", derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize))]
#[cfg_attr(feature = "rkyv", rkyv(derive(Debug), attr(allow(missing_docs))))]
pub struct Captured {
    /// blake3 of the bytes.
    pub hash: Hash,
    /// Number of bytes.
    pub size_bytes: u64,
}

/// Why a run cannot be replayed. A run with any of these is recorded for `dry show` but never
/// restored.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "rkyv", derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize))]
#[cfg_attr(feature = "rkyv", rkyv(derive(Debug), attr(allow(missing_docs))))]
pub enum Uncacheable {
    /// It read a source of randomness such as `/dev/urandom`.
    Random {
        /// The path read.
        path: Vec<u8>,
    },
    /// It connected a socket (to the network or to a local daemon).
    Network,
    /// It read standard input from a pipe or terminal, which cannot be checked later.
    InteractiveStdin,
    /// It was a nested command whose standard input was a pipe, socket, terminal or device
    /// other than dry's own standard input and `/dev/null` (a here-document, a pipeline
    /// stage): it may have read bytes that cannot be checked later (notes/0002-stdin.md).
    StreamStdin {
        /// What its standard input was.
        kind: crate::predicate::StdinKind,
    },
    /// It changed a path outside the project root and left it changed.
    OutsideRoot {
        /// The path changed.
        path: Vec<u8>,
    },
    /// An input changed while the command was running, or vanished before it could be hashed.
    InputRaced {
        /// The path.
        path: Vec<u8>,
    },
    /// It did something dry cannot record faithfully (e.g. renamed a directory it did not
    /// create).
    Unsupported {
        /// What it did, in words.
        what: String,
    },
    /// The top-level command exited non-zero and `--cache-failures` was not given.
    Failed,
}

/// One recorded run of a command.
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "rkyv", derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize))]
#[cfg_attr(feature = "rkyv", rkyv(derive(Debug), attr(allow(missing_docs))))]
pub struct Entry {
    /// The command.
    pub key: CommandKey,
    /// The inputs, in the order they were first observed.
    pub predicates: Vec<Predicate>,
    /// The outputs: the final state of every path changed, in the order to apply them.
    pub effects: Vec<Effect>,
    /// For each of `effects` (same order), how many of `predicates` had been observed when the
    /// run first changed its path. A later predicate whose walk reaches that path through a
    /// symlink the run did not make met it changed, so checking it against the state before
    /// the run says nothing (gap G6, `crate::into_output`). Missing numbers count as 0.
    pub effects_since: Vec<u32>,
    /// Standard output.
    pub stdout: Captured,
    /// Standard error.
    pub stderr: Captured,
    /// How the run ended.
    pub exit: ExitStatus,
    /// Wall time of the run in nanoseconds.
    pub run_ns: u64,
    /// When the run was recorded, in nanoseconds since the Unix epoch.
    pub recorded_unix_ns: u64,
    /// Why the run may not be replayed; empty for a replayable run.
    pub uncacheable: Vec<Uncacheable>,
    /// Syscalls the tracer stopped on but did not understand: (number, count).
    pub unknown_syscalls: Vec<(u64, u64)>,
}

impl Entry {
    /// Reports whether this entry may be replayed.
    pub fn cacheable(&self) -> bool {
        self.uncacheable.is_empty()
    }

    /// Returns the content hashes of every object this entry needs to be restored.
    pub fn objects(&self) -> impl Iterator<Item = Hash> + '_ {
        let files = self.effects.iter().filter_map(|e| match e {
            Effect::File { hash, .. } => Some(*hash),
            _ => None,
        });
        files.chain([self.stdout.hash, self.stderr.hash])
    }
}
