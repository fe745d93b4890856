//! The command key: what identifies "the same command" across runs.

use crate::hash::Hash;

/// Environment variables that never enter a key: they change between shells and terminals
/// without changing what a command computes. Names ending in `*` are prefixes.
pub const VOLATILE_ENV: &[&str] = &[
    "_",
    "OLDPWD",
    "PWD",
    "SHLVL",
    "TERM*",
    "SSH_*",
    "DISPLAY",
    "COLUMNS",
    "LINES",
    "DRY_*",
    "COLORTERM",
    "WINDOWID",
    "XAUTHORITY",
    "XDG_SESSION_*",
    "XDG_VTNR",
    "DBUS_SESSION_BUS_ADDRESS",
    "NO_COLOR",
    "MAKEFLAGS",
    "MFLAGS",
    "MAKELEVEL",
    "MAKE_TERMOUT",
    "MAKE_TERMERR",
    "CARGO_MAKEFLAGS",
];

/// Reports whether environment variable `name` is volatile (left out of keys), given the extra
/// names the user asked to ignore.
pub fn is_volatile_env(name: &[u8], ignored: &[Vec<u8>]) -> bool {
    if ignored.iter().any(|n| n.as_slice() == name) {
        return true;
    }
    VOLATILE_ENV.iter().any(|v| match v.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix.as_bytes()),
        None => name == v.as_bytes(),
    })
}

/// The name of the environment entry of a key that says what the command's standard output and
/// error were ([`OutputStreams`]). No environment can hold it: a real variable's name is a C
/// string, and this one starts with a NUL byte. Keeping it in the environment list, rather than in
/// a field of its own, leaves the archived [`CommandKey`] as it was (no store format change).
pub const STREAMS_ENV: &[u8] = b"\0streams";

/// What a command's standard output and error were, as far as its result depends on it: a
/// terminal on either (colours, line buffering), and both being one open file description
/// (`2>&1`: the two streams are one, whose interleaving a replay must keep). Part of the key
/// (notes/transparency.md, "Terminals"): an entry recorded with a terminal is never replayed
/// to a pipe, nor one recorded with one stream to two.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct OutputStreams {
    /// Standard output (fd 1) is a terminal.
    pub stdout_terminal: bool,
    /// Standard error (fd 2) is a terminal.
    pub stderr_terminal: bool,
    /// Fds 1 and 2 are one open file description: the output is one stream, recorded as
    /// standard output (standard error stays empty).
    pub one_stream: bool,
}

impl OutputStreams {
    /// Returns the value of the key's [`STREAMS_ENV`] entry, or `None` for two streams that are
    /// no terminal (no entry: the keys of every earlier format stay valid for them).
    pub fn encode(self) -> Option<Vec<u8>> {
        let words = [
            (self.stdout_terminal, "1:terminal"),
            (self.stderr_terminal, "2:terminal"),
            (self.one_stream, "2>&1"),
        ];
        let words: Vec<&str> = words.iter().filter(|(on, _)| *on).map(|(_, w)| *w).collect();
        (!words.is_empty()).then(|| words.join(" ").into_bytes())
    }

    /// Reads what [`OutputStreams::encode`] wrote (unknown words are ignored).
    pub fn decode(value: Option<&[u8]>) -> OutputStreams {
        let mut s = OutputStreams::default();
        for word in value.unwrap_or_default().split(|&b| b == b' ') {
            match word {
                b"1:terminal" => s.stdout_terminal = true,
                b"2:terminal" => s.stderr_terminal = true,
                b"2>&1" => s.one_stream = true,
                _ => {}
            }
        }
        s
    }

    /// Describes them in words, e.g. "stdout and stderr are one terminal".
    pub fn describe(self) -> &'static str {
        match (self.one_stream, self.stdout_terminal, self.stderr_terminal) {
            (true, true, _) => "stdout and stderr are one terminal",
            (true, false, _) => "stdout and stderr are one stream (2>&1)",
            (false, true, true) => "stdout and stderr are terminals",
            (false, true, false) => "stdout is a terminal, stderr is not",
            (false, false, true) => "stderr is a terminal, stdout is not",
            (false, false, false) => "stdout and stderr are two streams, no terminal",
        }
    }
}

/// What identifies a command: the resolved executable and its content, argv, the working
/// directory relative to the project root, the environment minus volatile variables, and what
/// its standard output and error are ([`OutputStreams`], an entry of the environment).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "rkyv", derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize))]
#[cfg_attr(feature = "rkyv", rkyv(derive(Debug), attr(allow(missing_docs))))]
pub struct CommandKey {
    /// Absolute path of the executable that was (or would be) exec'd.
    pub exe: Vec<u8>,
    /// Content hash of that executable.
    pub exe_hash: Hash,
    /// The argument vector, `argv[0]` included.
    pub argv: Vec<Vec<u8>>,
    /// Absolute working directory. (SPEC §3 says "relative to the project root"; predicates
    /// name absolute paths, so a key without the place would let a copied project, or two
    /// directories sharing one `DRY_DIR`, replay each other's outputs: notes/0012-key-cwd.md.
    /// Entries recorded with a relative cwd simply never match again.)
    pub cwd: Vec<u8>,
    /// Environment variables, sorted by name, volatile ones removed.
    pub env: Vec<(Vec<u8>, Vec<u8>)>,
}

impl CommandKey {
    /// Builds a key, dropping volatile variables and sorting the environment.
    pub fn new(
        exe: Vec<u8>,
        exe_hash: Hash,
        argv: Vec<Vec<u8>>,
        cwd: Vec<u8>,
        env: impl IntoIterator<Item = (Vec<u8>, Vec<u8>)>,
        ignored_env: &[Vec<u8>],
    ) -> CommandKey {
        let mut env: Vec<(Vec<u8>, Vec<u8>)> =
            env.into_iter().filter(|(k, _)| !is_volatile_env(k, ignored_env)).collect();
        env.sort();
        env.dedup_by(|a, b| a.0 == b.0);
        CommandKey { exe, exe_hash, argv, cwd, env }
    }

    /// Returns the key with what the command's standard output and error are
    /// ([`STREAMS_ENV`]).
    pub fn with_streams(mut self, streams: OutputStreams) -> CommandKey {
        self.env.retain(|(k, _)| k != STREAMS_ENV);
        if let Some(value) = streams.encode() {
            // Where its name sorts: the environment stays sorted.
            let at = self.env.partition_point(|(k, _)| k.as_slice() < STREAMS_ENV);
            self.env.insert(at, (STREAMS_ENV.to_vec(), value));
        }
        self
    }

    /// Returns what the command's standard output and error were.
    pub fn streams(&self) -> OutputStreams {
        let value = self.env.iter().find(|(k, _)| k == STREAMS_ENV).map(|(_, v)| v.as_slice());
        OutputStreams::decode(value)
    }

    /// Returns the hash of the command's *family*: executable path, argv and cwd. Entries of one
    /// family are stored together so that `dry why` can name the variable or executable that
    /// differs between a request and the recorded runs.
    pub fn family(&self) -> Hash {
        let mut h = blake3::Hasher::new();
        h.update(b"dry-family-v1\0");
        put(&mut h, &self.exe);
        h.update(&(self.argv.len() as u64).to_le_bytes());
        for a in &self.argv {
            put(&mut h, a);
        }
        put(&mut h, &self.cwd);
        Hash(*h.finalize().as_bytes())
    }

    /// Returns the hash of the whole key (family, executable content and environment).
    pub fn id(&self) -> Hash {
        let mut h = blake3::Hasher::new();
        h.update(b"dry-key-v1\0");
        h.update(&self.family().0);
        h.update(&self.exe_hash.0);
        h.update(&(self.env.len() as u64).to_le_bytes());
        for (k, v) in &self.env {
            put(&mut h, k);
            put(&mut h, v);
        }
        Hash(*h.finalize().as_bytes())
    }
}

fn put(h: &mut blake3::Hasher, bytes: &[u8]) {
    h.update(&(bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(env: &[(&str, &str)]) -> CommandKey {
        CommandKey::new(
            b"/bin/true".to_vec(),
            Hash::of(b"x"),
            vec![b"true".to_vec()],
            b".".to_vec(),
            env.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec())),
            &[b"IGNORED".to_vec()],
        )
    }

    #[test]
    fn volatile_and_ignored_variables_do_not_change_the_key() {
        assert_eq!(
            key(&[("A", "1")]).id(),
            key(&[("A", "1"), ("TERM", "xterm"), ("SSH_TTY", "x"), ("IGNORED", "y")]).id()
        );
        assert_ne!(key(&[("A", "1")]).id(), key(&[("A", "2")]).id());
        assert_eq!(key(&[("A", "1")]).family(), key(&[("A", "2")]).family());
    }

    #[test]
    fn output_streams_change_the_key_but_not_the_family() {
        let plain = key(&[("A", "1")]);
        assert_eq!(plain.clone().with_streams(OutputStreams::default()), plain);
        let all = OutputStreams { stdout_terminal: true, stderr_terminal: true, one_stream: true };
        let tty = OutputStreams { stdout_terminal: true, ..OutputStreams::default() };
        let merged = OutputStreams { one_stream: true, ..OutputStreams::default() };
        let mut ids = vec![plain.id()];
        for s in [all, tty, merged] {
            let k = plain.clone().with_streams(s);
            assert_eq!((k.streams(), k.family()), (s, plain.family()));
            assert_eq!(k.clone().with_streams(s), k);
            assert!(k.env.windows(2).all(|w| w[0] <= w[1]), "still sorted");
            ids.push(k.id());
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 4);
        // A variable of the real environment can never be taken for it.
        assert_eq!(key(&[("streams", "2>&1")]).streams(), OutputStreams::default());
    }
}
