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

/// What identifies a command: the resolved executable and its content, argv, the working
/// directory relative to the project root, and the environment minus volatile variables.
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
}
