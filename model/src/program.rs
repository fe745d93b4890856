//! A small deterministic program language that stands for a command.
//!
//! A [`Program`] is a list of [`Stmt`]s over the calls of [`crate::trace::Call`]. What it does
//! next depends on what it observed: [`Stmt::If`] branches on whether a call succeeded ("if
//! `a.h` resolves read it, else read `b.h`"), [`Stmt::ForEach`] runs its body for every listed
//! name with a suffix ("list `src/`, read every `.c`"), and [`Data::Digest`] writes a function of
//! everything observed so far ("write `out` = f(all it read)"). [`exec`] runs a program against a
//! [`Traced`] process and returns its *transcript*: every call and what it returned, which is
//! exactly what the program saw. Two runs that see the same transcript are indistinguishable to
//! the program.

use crate::resolve::ResolveFlags;
use crate::trace::{Call, Outcome, Traced};
use crate::Errno;
use crate::Hash;

/// The most calls a program makes in one run (loops over listings stay bounded).
pub const MAX_CALLS: usize = 200;

/// A path argument.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum PathExpr {
    /// This path, as written.
    Lit(Vec<u8>),
    /// The element of the innermost [`Stmt::ForEach`] (`dir/name`), followed by these bytes
    /// (`.` outside any loop).
    Each(Vec<u8>),
}

/// The bytes a write or append puts in a file, or a symlink's target.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Data {
    /// These bytes.
    Lit(Vec<u8>),
    /// A digest (16 hex digits) of the transcript so far: a function of everything observed.
    Digest,
}

/// One operation of a program, with unevaluated arguments.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Op {
    /// Read a file's content.
    Read(PathExpr),
    /// Create or truncate a file and write to it.
    Write(PathExpr, Data),
    /// Append to a file (created if absent).
    Append(PathExpr, Data),
    /// Overwrite the start of a file in place (created if absent; no truncation).
    Overwrite(PathExpr, Data),
    /// `stat`.
    Stat(PathExpr),
    /// `lstat`.
    Lstat(PathExpr),
    /// `readlink`.
    Readlink(PathExpr),
    /// List a directory.
    List(PathExpr),
    /// `mkdir`.
    Mkdir(PathExpr),
    /// `rmdir`.
    Rmdir(PathExpr),
    /// `unlink`.
    Unlink(PathExpr),
    /// `link(old, new)`.
    Link(PathExpr, PathExpr),
    /// `symlink(target, path)`.
    Symlink(Data, PathExpr),
    /// `rename(old, new)`.
    Rename(PathExpr, PathExpr),
    /// `chdir`.
    Chdir(PathExpr),
    /// `chmod(path, mode)`: follows symlinks, sets the permission bits.
    Chmod(PathExpr, u32),
    /// `truncate(path, len)`: follows symlinks; the file must exist; its content is cut or
    /// extended with zeros to `len` bytes, its mode kept.
    Truncate(PathExpr, u64),
    /// `access(path, mode)`: `mode` is `F_OK` (0) or `R_OK|W_OK|X_OK` bits (4, 2, 1).
    Access(PathExpr, u32),
    /// Open read-write (created if absent; no truncation), read the whole content, then
    /// overwrite the start of it in place.
    ReadWrite(PathExpr, Data),
    /// `utimensat(path, NULL)` (`touch` of an existing file): follows symlinks; sets times,
    /// which the model does not keep.
    Touch(PathExpr),
    /// `mknod(path, S_IFREG|0644)`: creates an empty regular file (`EEXIST` if the name exists).
    Mknod(PathExpr),
    /// `renameat2(old, new, RENAME_NOREPLACE)`: `EEXIST` if `new` exists, else a rename.
    RenameNoreplace(PathExpr, PathExpr),
    /// `renameat2(old, new, RENAME_EXCHANGE)`: both must exist; swaps them.
    Exchange(PathExpr, PathExpr),
    /// `execve(path)`, which fails (the model's files are never programs): the errno says
    /// what the file is (`EACCES`: not a regular file, or no execute bit; `ENOEXEC`).
    Exec(PathExpr),
    /// `open(path, O_RDONLY|O_DIRECTORY)`: on success the directory is kept open as the
    /// program's next dir fd (numbered from 0 in the order they were opened).
    OpenDir(PathExpr),
    /// `openat(fd, rel, O_RDONLY)` with the program's dir fd number `.0`, then read the whole
    /// content (as [`Op::Read`]); `EBADF` if there is no such fd.
    ReadAt(u8, Vec<u8>),
    /// `fstatat(fd, rel, &st, 0)` with the program's dir fd number `.0` (as [`Op::Stat`]).
    StatAt(u8, Vec<u8>),
}

/// One statement.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Stmt {
    /// Perform the operation.
    Do(Op),
    /// Perform `op`; then run `then` if it succeeded, `otherwise` if it failed.
    If {
        /// The operation tested.
        op: Op,
        /// Run on success.
        then: Vec<Stmt>,
        /// Run on failure.
        otherwise: Vec<Stmt>,
    },
    /// List `dir`; for every name ending with `suffix`, run `body` with [`PathExpr::Each`]
    /// bound to `dir/name`.
    ForEach {
        /// The directory listed.
        dir: PathExpr,
        /// The suffix names must have (empty: every name).
        suffix: Vec<u8>,
        /// The loop body.
        body: Vec<Stmt>,
    },
}

/// A program: what a command does, as a function of what it observes.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Program {
    /// Its statements, in order.
    pub stmts: Vec<Stmt>,
}

/// The interpreter's state.
struct Exec<'a> {
    traced: &'a mut Traced,
    transcript: Vec<u8>,
    each: Vec<Vec<u8>>,
    calls: usize,
    /// The identities the `stat`s so far showed, in order: a program may compare them (`cp`
    /// refuses two names of one file), so the transcript says which earlier one each equals.
    shown: Vec<(u64, u64)>,
}

impl Exec<'_> {
    fn path(&self, e: &PathExpr) -> Vec<u8> {
        match e {
            PathExpr::Lit(p) => p.clone(),
            PathExpr::Each(tail) => {
                let mut p = self.each.last().cloned().unwrap_or_else(|| b".".to_vec());
                p.extend_from_slice(tail);
                p
            }
        }
    }

    fn data(&self, d: &Data) -> Vec<u8> {
        match d {
            Data::Lit(b) => b.clone(),
            Data::Digest => Hash::of(&self.transcript).to_hex().as_bytes()[..16].to_vec(),
        }
    }

    fn call(&mut self, op: &Op) -> Result<Outcome, Errno> {
        let call = match op {
            Op::Read(p) => Call::Read(self.path(p)),
            Op::Write(p, d) => Call::Write(self.path(p), self.data(d)),
            Op::Append(p, d) => Call::Append(self.path(p), self.data(d)),
            Op::Overwrite(p, d) => Call::Overwrite(self.path(p), self.data(d)),
            Op::Stat(p) => Call::Stat(self.path(p)),
            Op::Lstat(p) => Call::Lstat(self.path(p)),
            Op::Readlink(p) => Call::Readlink(self.path(p)),
            Op::List(p) => Call::List(self.path(p)),
            Op::Mkdir(p) => Call::Mkdir(self.path(p)),
            Op::Rmdir(p) => Call::Rmdir(self.path(p)),
            Op::Unlink(p) => Call::Unlink(self.path(p)),
            Op::Link(a, b) => Call::Link(self.path(a), self.path(b)),
            Op::Symlink(t, p) => Call::Symlink(self.data(t), self.path(p)),
            Op::Rename(a, b) => Call::Rename(self.path(a), self.path(b)),
            Op::Chdir(p) => Call::Chdir(self.path(p)),
            Op::Chmod(p, m) => Call::Chmod(self.path(p), *m),
            Op::Truncate(p, n) => Call::Truncate(self.path(p), *n),
            Op::Access(p, m) => Call::Access(self.path(p), *m),
            Op::ReadWrite(p, d) => Call::ReadWrite(self.path(p), self.data(d)),
            Op::Touch(p) => Call::Touch(self.path(p)),
            Op::Exec(p) => Call::Exec(self.path(p)),
            Op::OpenDir(p) => Call::OpenDir(self.path(p)),
            Op::ReadAt(i, rel) => Call::ReadAt(*i, rel.clone()),
            Op::StatAt(i, rel) => Call::StatAt(*i, rel.clone()),
            Op::Mknod(p) => Call::Mknod(self.path(p)),
            Op::RenameNoreplace(a, b) => Call::RenameNoreplace(self.path(a), self.path(b)),
            Op::Exchange(a, b) => Call::Exchange(self.path(a), self.path(b)),
        };
        self.calls += 1;
        // Through a dir fd the tracer looks at the fd's path as spelled, which may lead
        // elsewhere than the fd: what the program saw is taken from the kernel itself.
        let through_fd = match &call {
            Call::ReadAt(i, rel) | Call::StatAt(i, rel) => {
                let os = &self.traced.os;
                let node = os.dirfd(*i).and_then(|d| {
                    match crate::resolve::resolve_from(&os.fs, d, rel, ResolveFlags::FOLLOW) {
                        Ok(crate::resolve::Resolved::Node(n)) => Some(n),
                        _ => None,
                    }
                });
                Some(node.and_then(|n| {
                    let meta = crate::fs::Fs::meta(&os.fs, &n).ok()?;
                    Some((meta.mode, crate::fs::Fs::identity(&os.fs, &n).ok()?, meta.kind))
                }))
            }
            _ => None,
        };
        let before = self.traced.obs.len();
        let out = self.traced.call(&call);
        let id = match (&call, &through_fd) {
            (Call::StatAt(..), Some(shown)) => shown.map(|(_, id, _)| id),
            (Call::ReadAt(..), _) => None,
            _ => self.traced.obs[before..].iter().find_map(|o| match o {
                crate::observe::Observation::Stat { id: Some(id), .. } => Some(*id),
                _ => None,
            }),
        };
        // A program reading a file may `fstat` it and copy its mode (`sed -i`); so may one that
        // opened an existing file read-write (whose mode the tracer records, G22).
        let read_mode = self.traced.obs[before..].iter().find_map(|o| match o {
            crate::observe::Observation::Stat { meta, id: None, .. }
                if matches!(call, Call::Read(_) | Call::ReadWrite(..)) =>
            {
                Some(meta.mode)
            }
            _ => None,
        });
        let read_mode = match (&call, through_fd) {
            (Call::ReadAt(..), Some(Some((mode, _, crate::fs::FileKind::Regular)))) => Some(mode),
            (Call::ReadAt(..), _) => None,
            _ => read_mode,
        };
        let read_mode = read_mode.map(|m| format!(" (mode {m:o})")).unwrap_or_default();
        let alias = match id {
            Some(id) => match self.shown.iter().position(|s| *s == id) {
                Some(k) => format!(" (the file of stat #{k})"),
                None => {
                    self.shown.push(id);
                    format!(" (stat #{})", self.shown.len() - 1)
                }
            },
            None => String::new(),
        };
        let line = format!("{call} -> {}{alias}{read_mode}\n", show_outcome(&out));
        self.transcript.extend_from_slice(line.as_bytes());
        out
    }

    fn block(&mut self, stmts: &[Stmt]) {
        for s in stmts {
            if self.calls >= MAX_CALLS {
                return;
            }
            match s {
                Stmt::Do(op) => {
                    let _ = self.call(op);
                }
                Stmt::If { op, then, otherwise } => {
                    let branch = if self.call(op).is_ok() { then } else { otherwise };
                    self.block(branch);
                }
                Stmt::ForEach { dir, suffix, body } => {
                    let d = self.path(dir);
                    let Ok(Outcome::Names(names)) = self.call(&Op::List(dir.clone())) else {
                        continue;
                    };
                    for name in names.iter().filter(|n| n.ends_with(suffix)) {
                        let mut elem = d.clone();
                        if !elem.ends_with(b"/") {
                            elem.push(b'/');
                        }
                        elem.extend_from_slice(name);
                        self.each.push(elem);
                        self.block(body);
                        self.each.pop();
                    }
                }
            }
        }
    }
}

/// Runs `program` in `traced`; returns the transcript (each call and what it returned).
pub fn exec(program: &Program, traced: &mut Traced) -> Vec<u8> {
    let mut e =
        Exec { traced, transcript: Vec::new(), each: Vec::new(), calls: 0, shown: Vec::new() };
    e.block(&program.stmts);
    e.transcript
}

fn show(b: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(b))
}

impl std::fmt::Display for PathExpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathExpr::Lit(p) => f.write_str(&show(p)),
            PathExpr::Each(tail) => write!(f, "$each{}", String::from_utf8_lossy(tail)),
        }
    }
}

impl std::fmt::Display for Data {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Data::Lit(b) => f.write_str(&show(b)),
            Data::Digest => f.write_str("digest"),
        }
    }
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Op::Read(p) => write!(f, "read {p}"),
            Op::Write(p, d) => write!(f, "write {p} {d}"),
            Op::Append(p, d) => write!(f, "append {p} {d}"),
            Op::Overwrite(p, d) => write!(f, "overwrite {p} {d}"),
            Op::Stat(p) => write!(f, "stat {p}"),
            Op::Lstat(p) => write!(f, "lstat {p}"),
            Op::Readlink(p) => write!(f, "readlink {p}"),
            Op::List(p) => write!(f, "list {p}"),
            Op::Mkdir(p) => write!(f, "mkdir {p}"),
            Op::Rmdir(p) => write!(f, "rmdir {p}"),
            Op::Unlink(p) => write!(f, "unlink {p}"),
            Op::Link(a, b) => write!(f, "link {a} {b}"),
            Op::Symlink(t, p) => write!(f, "symlink {t} {p}"),
            Op::Rename(a, b) => write!(f, "rename {a} {b}"),
            Op::Chdir(p) => write!(f, "chdir {p}"),
            Op::Chmod(p, m) => write!(f, "chmod {m:o} {p}"),
            Op::Truncate(p, n) => write!(f, "truncate -s {n} {p}"),
            Op::Access(p, m) => write!(f, "access {p} {}", access_mode(*m)),
            Op::ReadWrite(p, d) => write!(f, "readwrite {p} {d}"),
            Op::Touch(p) => write!(f, "touch {p}"),
            Op::Exec(p) => write!(f, "exec {p}"),
            Op::OpenDir(p) => write!(f, "opendir {p}"),
            Op::ReadAt(i, rel) => write!(f, "readat {i} {}", show(rel)),
            Op::StatAt(i, rel) => write!(f, "statat {i} {}", show(rel)),
            Op::Mknod(p) => write!(f, "mknod {p}"),
            Op::RenameNoreplace(a, b) => write!(f, "rename --noreplace {a} {b}"),
            Op::Exchange(a, b) => write!(f, "rename --exchange {a} {b}"),
        }
    }
}

fn fmt_block(f: &mut std::fmt::Formatter<'_>, stmts: &[Stmt], indent: usize) -> std::fmt::Result {
    let pad = "  ".repeat(indent);
    for s in stmts {
        match s {
            Stmt::Do(op) => writeln!(f, "{pad}{op}")?,
            Stmt::If { op, then, otherwise } => {
                writeln!(f, "{pad}if {op} {{")?;
                fmt_block(f, then, indent + 1)?;
                writeln!(f, "{pad}}} else {{")?;
                fmt_block(f, otherwise, indent + 1)?;
                writeln!(f, "{pad}}}")?;
            }
            Stmt::ForEach { dir, suffix, body } => {
                writeln!(f, "{pad}for $each in {dir}/*{} {{", String::from_utf8_lossy(suffix))?;
                fmt_block(f, body, indent + 1)?;
                writeln!(f, "{pad}}}")?;
            }
        }
    }
    Ok(())
}

/// Prints a program one statement a line, paths as strings.
impl std::fmt::Display for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fmt_block(f, &self.stmts, 0)
    }
}

/// `F_OK`, or the letters of `R_OK`, `W_OK` and `X_OK` (`rx`).
fn access_mode(m: u32) -> String {
    if m & 0o7 == 0 {
        return "F_OK".to_string();
    }
    [(4, 'r'), (2, 'w'), (1, 'x')].iter().filter(|(b, _)| m & b != 0).map(|(_, c)| c).collect()
}

fn show_outcome(out: &Result<Outcome, Errno>) -> String {
    match out {
        Ok(Outcome::Done) => "ok".to_string(),
        Ok(Outcome::Bytes(b)) => show(b),
        Ok(Outcome::Meta(m)) => format!("{:?} {:o} {}", m.kind, m.mode, m.size_bytes),
        Ok(Outcome::Names(n)) => {
            let names: Vec<String> = n.iter().map(|n| show(n)).collect();
            format!("[{}]", names.join(", "))
        }
        Err(e) => e.name(),
    }
}

/// Prints a call as a command line, paths as strings.
impl std::fmt::Display for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Call::Read(p)
            | Call::Stat(p)
            | Call::Lstat(p)
            | Call::Readlink(p)
            | Call::List(p)
            | Call::Mkdir(p)
            | Call::Rmdir(p)
            | Call::Unlink(p)
            | Call::Chdir(p)
            | Call::Touch(p)
            | Call::Exec(p)
            | Call::OpenDir(p)
            | Call::Mknod(p) => write!(f, "{} {}", self.name(), show(p)),
            Call::ReadAt(i, rel) | Call::StatAt(i, rel) => {
                write!(f, "{} {i} {}", self.name(), show(rel))
            }
            Call::Write(a, b)
            | Call::Append(a, b)
            | Call::Overwrite(a, b)
            | Call::ReadWrite(a, b)
            | Call::Link(a, b)
            | Call::Symlink(a, b)
            | Call::Rename(a, b)
            | Call::RenameNoreplace(a, b)
            | Call::Exchange(a, b) => write!(f, "{} {} {}", self.name(), show(a), show(b)),
            Call::Chmod(p, m) => write!(f, "chmod {} {m:o}", show(p)),
            Call::Truncate(p, n) => write!(f, "truncate {} {n}", show(p)),
            Call::Access(p, m) => write!(f, "access {} {}", show(p), access_mode(*m)),
        }
    }
}
