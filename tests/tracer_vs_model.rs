//! Theorem 4 of notes/model.md, tracer == model: a program's calls, performed for real by the
//! `dry-fixture` binary under `dry build` (the real tracer, recorder and store), yield the entry
//! the model's tracer mirror and lowering give for the same program on the same tree.
//!
//! For each scenario (decoded from random bytes, or written by hand below):
//!
//! 1. The tree `s0` is moved below eight padding directories (`PAD`), absolute paths of the
//!    program and absolute symlink targets with it, so that `..` above the project root stays
//!    inside the temporary directory. The model runs the program with cwd and project root
//!    `PAD/p`, as shipped ([`model::run::run`] + [`model::run::lower`], no proposed fixes), and
//!    [`Traced::calls`] gives the exact flattened calls it made.
//! 2. The padded tree is materialised in a temporary directory `TMP` (the model's `/`), the
//!    calls written to a file outside it (absolute paths as `TMP/...`), and
//!    `dry build -- dry-fixture CALLS` run with cwd `TMP/PAD/p` (no `.dry/` above it, so that
//!    is the project root) and `DRY_DIR` outside `TMP`, so the store is no part of the tree.
//! 3. The recorded entry is loaded from the store and its paths mapped back to model paths by
//!    stripping `TMP`. Predicates about paths outside `TMP` are dropped: the dynamic loader,
//!    libc, `/proc`, the fixture binary and the calls file are what the program is made of,
//!    not what it does. Then predicates and effects are compared as sorted sets (the model
//!    and the tracer may order them differently), and so is uncacheable-ness with its reasons.
//!    Stdout is not compared (the model's stands for the program's transcript), nor the key.
//!
//! Scenarios whose model run would not mean the same as the real one are skipped, not
//! compared: a working directory above `PAD`'s sixth level (paths of up to three components
//! could then climb out of `TMP`, where the model's `/..` is `/` and the real one is not), and
//! an `EBUSY` (the model refuses `rmdir` of the cwd, Linux allows it: notes/model.md).

use model::memfs::{MemFs, Snap};
use model::observe::Observation;
use model::ops::Os;
use model::program::{exec, Data, Op, PathExpr, Program, Stmt};
use model::scenario::{show_effect, show_predicate, Scenario};
use model::trace::{Call, Traced};
use model::{Effect, Entry, Predicate};
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Eight padding directories above the model's `/p`.
const PAD: &[u8] = b"/q/q/q/q/q/q/q/q";

/// A working directory must stay within this (see the module comment).
const DEEP_ENOUGH: &[u8] = b"/q/q/q/q/q/q";

/// `PAD/p`: the programs' cwd and the project root, in the model.
fn model_root() -> Vec<u8> {
    [PAD, b"/p"].concat()
}

/// Moves an absolute model path below the padding; relative paths are unchanged.
fn padded(p: &[u8]) -> Vec<u8> {
    if p.starts_with(b"/") {
        [PAD, p].concat()
    } else {
        p.to_vec()
    }
}

/// The model tree: `s0` moved below the padding, absolute symlink targets with it.
fn model_tree(s0: &MemFs) -> MemFs {
    let mut fs = MemFs::new();
    fs.mkdir_p(&model_root());
    for (path, snap) in s0.snapshot() {
        let p = padded(&path);
        match snap {
            Snap::File { content, .. } => fs.write(&p, &content),
            Snap::Dir { .. } => fs.mkdir_p(&p),
            Snap::Symlink { target } => fs.symlink(&p, &padded(&target)),
        }
    }
    fs
}

/// The program with its absolute paths (and absolute symlink targets) below the padding.
fn padded_program(p: &Program) -> Program {
    fn expr(e: &PathExpr) -> PathExpr {
        match e {
            PathExpr::Lit(p) => PathExpr::Lit(padded(p)),
            each => each.clone(),
        }
    }
    fn op(o: &Op) -> Op {
        match o {
            Op::Read(p) => Op::Read(expr(p)),
            Op::Write(p, d) => Op::Write(expr(p), d.clone()),
            Op::Append(p, d) => Op::Append(expr(p), d.clone()),
            Op::Overwrite(p, d) => Op::Overwrite(expr(p), d.clone()),
            Op::Stat(p) => Op::Stat(expr(p)),
            Op::Lstat(p) => Op::Lstat(expr(p)),
            Op::Readlink(p) => Op::Readlink(expr(p)),
            Op::List(p) => Op::List(expr(p)),
            Op::Mkdir(p) => Op::Mkdir(expr(p)),
            Op::Rmdir(p) => Op::Rmdir(expr(p)),
            Op::Unlink(p) => Op::Unlink(expr(p)),
            Op::Link(a, b) => Op::Link(expr(a), expr(b)),
            Op::Symlink(Data::Lit(t), p) => Op::Symlink(Data::Lit(padded(t)), expr(p)),
            Op::Symlink(t, p) => Op::Symlink(t.clone(), expr(p)),
            Op::Rename(a, b) => Op::Rename(expr(a), expr(b)),
            Op::Chdir(p) => Op::Chdir(expr(p)),
            Op::Chmod(p, m) => Op::Chmod(expr(p), *m),
            Op::Truncate(p, n) => Op::Truncate(expr(p), *n),
            Op::Access(p, m) => Op::Access(expr(p), *m),
            Op::ReadWrite(p, d) => Op::ReadWrite(expr(p), d.clone()),
            Op::Touch(p) => Op::Touch(expr(p)),
            Op::Exec(p) => Op::Exec(expr(p)),
            Op::OpenDir(p) => Op::OpenDir(expr(p)),
            Op::ReadAt(i, rel) => Op::ReadAt(*i, rel.clone()),
            Op::StatAt(i, rel) => Op::StatAt(*i, rel.clone()),
            Op::Mknod(p) => Op::Mknod(expr(p)),
            Op::RenameNoreplace(a, b) => Op::RenameNoreplace(expr(a), expr(b)),
            Op::Exchange(a, b) => Op::Exchange(expr(a), expr(b)),
        }
    }
    fn block(stmts: &[Stmt]) -> Vec<Stmt> {
        stmts
            .iter()
            .map(|s| match s {
                Stmt::Do(o) => Stmt::Do(op(o)),
                Stmt::If { op: o, then, otherwise } => {
                    Stmt::If { op: op(o), then: block(then), otherwise: block(otherwise) }
                }
                Stmt::ForEach { dir, suffix, body } => {
                    Stmt::ForEach { dir: expr(dir), suffix: suffix.clone(), body: block(body) }
                }
            })
            .collect()
    }
    Program { stmts: block(&p.stmts) }
}

/// What the model says about a program: the calls it makes and the entry it records.
struct ModelRun {
    calls: Vec<Call>,
    entry: Entry,
}

/// Runs `program` (already padded) on `fs` in the model, as [`model::run::run`] and
/// [`model::run::lower`] do, keeping the calls; `Err` with a reason to skip it.
fn run_model(fs: &MemFs, program: &Program) -> Result<ModelRun, String> {
    let root = model_root();
    let mut traced = Traced::new(Os::new(fs.clone(), &root).ok_or("no cwd")?);
    let transcript = exec(program, &mut traced);
    for o in &traced.obs {
        if let Observation::Resolve { at, .. } = o {
            if !at.path.starts_with(b"/") && !model::path::is_within(&at.base, DEEP_ENOUGH) {
                return Err(format!("cwd {:?} too close to /", String::from_utf8_lossy(&at.base)));
            }
        }
    }
    if String::from_utf8_lossy(&transcript).contains("EBUSY") {
        return Err("EBUSY: the model refuses rmdir of the cwd".into());
    }
    let lowered = model::run::lower_observations(traced.obs, &traced.os.fs, &root);
    Ok(ModelRun { calls: traced.calls, entry: model::run::entry_of(lowered, &transcript) })
}

/// `TMP` followed by `abs`.
fn host(tmp: &Path, abs: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(&[tmp.as_os_str().as_bytes(), abs].concat()))
}

/// A model path as the fixture passes it: absolute ones below `TMP`.
fn real_arg(tmp: &Path, p: &[u8]) -> Vec<u8> {
    if p.starts_with(b"/") {
        host(tmp, p).into_os_string().into_vec()
    } else {
        p.to_vec()
    }
}

/// Creates the model tree below `tmp`, with the model's modes.
fn materialise(fs: &MemFs, tmp: &Path) -> std::io::Result<()> {
    for (path, snap) in fs.snapshot() {
        let p = host(tmp, &path);
        match snap {
            Snap::File { content, mode } => {
                std::fs::write(&p, content)?;
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))?;
            }
            Snap::Dir { mode } => {
                std::fs::create_dir(&p)?;
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))?;
            }
            Snap::Symlink { target } => {
                std::os::unix::fs::symlink(OsStr::from_bytes(&real_arg(tmp, &target)), &p)?
            }
        }
    }
    Ok(())
}

fn hex(b: &[u8]) -> String {
    if b.is_empty() {
        return "-".into();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The calls file `dry-fixture` reads (format in `tests/fixture/main.rs`).
fn calls_file(calls: &[Call], tmp: &Path) -> String {
    let mut out = String::new();
    for c in calls {
        let p = |x: &[u8]| hex(&real_arg(tmp, x));
        let args = match c {
            Call::Read(a)
            | Call::Stat(a)
            | Call::Lstat(a)
            | Call::Readlink(a)
            | Call::List(a)
            | Call::Mkdir(a)
            | Call::Rmdir(a)
            | Call::Unlink(a)
            | Call::Chdir(a)
            | Call::Touch(a)
            | Call::Exec(a)
            | Call::OpenDir(a)
            | Call::Mknod(a) => vec![p(a)],
            // Relative to a directory fd: the path as it is (the fd carries the place).
            Call::ReadAt(i, rel) | Call::StatAt(i, rel) => {
                vec![hex(i.to_string().as_bytes()), hex(rel)]
            }
            Call::Write(a, d)
            | Call::Append(a, d)
            | Call::Overwrite(a, d)
            | Call::ReadWrite(a, d) => vec![p(a), hex(d)],
            Call::Link(a, b)
            | Call::Symlink(a, b)
            | Call::Rename(a, b)
            | Call::RenameNoreplace(a, b)
            | Call::Exchange(a, b) => vec![p(a), p(b)],
            Call::Chmod(a, m) | Call::Access(a, m) => vec![p(a), hex(m.to_string().as_bytes())],
            Call::Truncate(a, n) => vec![p(a), hex(n.to_string().as_bytes())],
        };
        out.push_str(&format!("{} {}\n", c.name(), args.join(" ")));
    }
    out
}

/// Runs `dry build -- dry-fixture CALLS` in `TMP/PAD/p` and loads the entry it recorded.
fn run_real(fs: &MemFs, calls: &[Call]) -> Result<(Entry, PathBuf, tempfile::TempDir), String> {
    let e = |what: &'static str| move |err: std::io::Error| format!("{what}: {err}");
    let dir = tempfile::Builder::new().prefix("dry-t4-").tempdir().map_err(e("tempdir"))?;
    let tmp = dir.path().canonicalize().map_err(e("canonical tempdir"))?;
    let tree = tmp.join("tree");
    std::fs::create_dir(&tree).map_err(e("mkdir tree"))?;
    materialise(fs, &tree).map_err(e("materialise"))?;
    let calls_path = tmp.join("calls");
    std::fs::write(&calls_path, calls_file(calls, &tree)).map_err(e("calls file"))?;
    let out = Command::new(env!("CARGO_BIN_EXE_dry"))
        .args([OsStr::new("build"), OsStr::new("-v"), OsStr::new("--")])
        .arg(env!("CARGO_BIN_EXE_dry-fixture"))
        .arg(&calls_path)
        .current_dir(host(&tree, &model_root()))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &tmp)
        .env("LANG", "C")
        .env("DRY_DIR", tmp.join("store"))
        .stdin(Stdio::null())
        .output()
        .map_err(e("running dry"))?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() || !stderr.contains("dry: ran") {
        return Err(format!("dry build failed ({}): {stderr}", out.status));
    }
    let store = dry::store::Store::open(&tmp.join("store")).map_err(|x| x.to_string())?;
    let families = store.families().map_err(|x| x.to_string())?;
    let [family] = families.as_slice() else {
        return Err(format!("{} families in the store", families.len()));
    };
    let mut entries = store.load_family(family).map_err(|x| x.to_string())?;
    let entry = entries.pop().ok_or("no entry recorded")?;
    let cwd = host(&tree, &model_root());
    if entry.key.cwd != cwd.as_os_str().as_bytes() {
        return Err(format!("the key's cwd is not where dry ran: {:?}", entry.key.cwd));
    }
    Ok((entry, tree, dir))
}

/// Maps a real absolute path to the model's (`TMP` stripped); `None` outside `TMP`.
fn to_model(tmp: &[u8], p: &[u8]) -> Option<Vec<u8>> {
    if p == tmp {
        return Some(b"/".to_vec());
    }
    p.strip_prefix(tmp).filter(|rest| rest.starts_with(b"/")).map(<[u8]>::to_vec)
}

/// A path as stored (a symlink target, a path as spelled): absolute ones inside `TMP` mapped.
fn spelled(tmp: &[u8], p: &[u8]) -> Vec<u8> {
    to_model(tmp, p).unwrap_or_else(|| p.to_vec())
}

/// A real predicate in model terms; `None` if it is about a path outside `TMP`.
fn predicate(tmp: &[u8], p: &Predicate) -> Option<Predicate> {
    use Predicate as P;
    let inside = |base: &[u8], path: &[u8]| {
        model::path::is_within(&model::path::normalize(&model::path::join(base, path)), tmp)
    };
    Some(match p.clone() {
        P::Resolves { path, base, flags, to } => {
            if !inside(&base, &path) {
                return None;
            }
            P::Resolves { path: spelled(tmp, &path), base: spelled(tmp, &base), flags, to }
        }
        P::DoesNotResolve { path, base, flags, errno } => {
            if !inside(&base, &path) {
                return None;
            }
            P::DoesNotResolve { path: spelled(tmp, &path), base: spelled(tmp, &base), flags, errno }
        }
        P::Content { path, hash } => P::Content { path: to_model(tmp, &path)?, hash },
        P::Metadata { path, kind, mode, size_bytes } => {
            P::Metadata { path: to_model(tmp, &path)?, kind, mode, size_bytes }
        }
        P::Listing { dir, names } => P::Listing { dir: to_model(tmp, &dir)?, names },
        P::Readlink { path, target } => {
            P::Readlink { path: to_model(tmp, &path)?, target: spelled(tmp, &target) }
        }
        stdin @ (P::Stdin { .. } | P::StdinIs { .. }) => stdin,
        P::Links { path, count, mode } => P::Links { path: to_model(tmp, &path)?, count, mode },
        P::Access { path, want, granted } => {
            P::Access { path: to_model(tmp, &path)?, want, granted }
        }
        P::SameFile { a, b, flags, same } => {
            P::SameFile { a: to_model(tmp, &a)?, b: to_model(tmp, &b)?, flags, same }
        }
        P::Identities { groups } => {
            // The paths inside `TMP` (the model stats nothing else), groups kept apart.
            let inside = groups.split(|p| p.is_empty()).filter_map(|g| {
                let g: Vec<Vec<u8>> = g.iter().filter_map(|p| to_model(tmp, p)).collect();
                (!g.is_empty()).then_some(g)
            });
            let inside: Vec<Vec<Vec<u8>>> = inside.collect();
            if inside.iter().map(Vec::len).sum::<usize>() < 2 {
                return None;
            }
            P::Identities { groups: inside.join(&Vec::new()) }
        }
    })
}

/// A real effect in model terms (paths outside `TMP` kept as they are, to show up).
fn effect(tmp: &[u8], e: &Effect) -> Effect {
    let m = |p: &[u8]| spelled(tmp, p);
    match e {
        Effect::File { path, hash, mode } => {
            Effect::File { path: m(path), hash: *hash, mode: *mode }
        }
        Effect::Dir { path, mode } => Effect::Dir { path: m(path), mode: *mode },
        Effect::Symlink { path, target } => Effect::Symlink { path: m(path), target: m(target) },
        Effect::HardLink { path, to } => Effect::HardLink { path: m(path), to: m(to) },
        Effect::Absent { path } => Effect::Absent { path: m(path) },
    }
}

/// The uncacheable reasons, in words, paths mapped.
fn uncacheable(tmp: &[u8], e: &Entry) -> BTreeSet<String> {
    use model::entry::Uncacheable as U;
    let s = |p: &[u8]| String::from_utf8_lossy(&spelled(tmp, p)).into_owned();
    e.uncacheable
        .iter()
        .map(|u| match u {
            U::Random { path } => format!("Random {}", s(path)),
            U::OutsideRoot { path } => format!("OutsideRoot {}", s(path)),
            U::InputRaced { path } => format!("InputRaced {}", s(path)),
            U::Unsupported { what } if !tmp.is_empty() => {
                let tmp = String::from_utf8_lossy(tmp);
                format!("{:?}", U::Unsupported { what: what.replace(&*tmp, "") })
            }
            other => format!("{other:?}"),
        })
        .collect()
}

/// Everything compared, one line each (`P` predicates, `E` effects, `U` uncacheable reasons,
/// `S` unknown syscalls), as a sorted set.
fn lines(
    predicates: impl Iterator<Item = Predicate>,
    effects: impl Iterator<Item = Effect>,
    uncacheable: BTreeSet<String>,
    unknown: &[(u64, u64)],
) -> BTreeSet<String> {
    let mut out: BTreeSet<String> =
        predicates.map(|p| format!("P {}", show_predicate(&p))).collect();
    out.extend(effects.map(|e| format!("E {}", show_effect(&e))));
    out.extend(uncacheable.into_iter().map(|u| format!("U {u}")));
    out.extend(unknown.iter().map(|u| format!("S {u:?}")));
    out
}

/// What a comparison came to.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// The entries agree.
    Same,
    /// Not comparable (see the module comment).
    Skipped(String),
}

/// Theorem 4 on one scenario: `Err` describes the disagreement.
fn same_entry(s0: &MemFs, program: &Program) -> Result<Outcome, String> {
    let fs = model_tree(s0);
    let program = padded_program(program);
    let model = match run_model(&fs, &program) {
        Ok(m) => m,
        Err(why) => return Ok(Outcome::Skipped(why)),
    };
    let (real, tree, _dir) = run_real(&fs, &model.calls)?;
    let tmp = tree.as_os_str().as_bytes();
    // dry runs the program with /dev/null on its standard input (`run_real`), which its entry
    // records; the model's programs do not read standard input.
    let stdin = Predicate::StdinIs { kind: model::predicate::StdinKind::Null };
    let want = lines(
        model.entry.predicates.iter().cloned().chain([stdin]),
        model.entry.effects.iter().cloned(),
        uncacheable(b"", &model.entry),
        &model.entry.unknown_syscalls,
    );
    let got = lines(
        real.predicates.iter().filter_map(|p| predicate(tmp, p)),
        real.effects.iter().map(|e| effect(tmp, e)),
        uncacheable(tmp, &real),
        &real.unknown_syscalls,
    );
    if want == got {
        return Ok(Outcome::Same);
    }
    let mut msg =
        format!("tracer != model\ncalls (cwd {}):\n", String::from_utf8_lossy(&model_root()));
    for c in &model.calls {
        msg.push_str(&format!("  {c}\n"));
    }
    msg.push_str("only in the model:\n");
    for l in want.difference(&got) {
        msg.push_str(&format!("  {l}\n"));
    }
    msg.push_str("only in the real entry:\n");
    for l in got.difference(&want) {
        msg.push_str(&format!("  {l}\n"));
    }
    msg.push_str("in both:\n");
    for l in want.intersection(&got) {
        msg.push_str(&format!("  {l}\n"));
    }
    Err(msg)
}

/// Checks a decoded scenario (its edits are not used).
fn check_bytes(bytes: &[u8]) -> Result<Outcome, String> {
    let sc = Scenario::decode(bytes);
    same_entry(&sc.s0, &sc.program).map_err(|e| format!("{e}scenario (unpadded):\n{sc}"))
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn the_tracer_records_what_the_model_records(
        b in proptest::collection::vec(any::<u8>(), 0..160)
    ) {
        match check_bytes(&b) {
            Ok(Outcome::Same) => {}
            Ok(Outcome::Skipped(why)) => prop_assume!(false, "{}", why),
            Err(e) => prop_assert!(false, "{}", e),
        }
    }
}

// Hand-written scenarios. The tree is given unpadded, with `/p` the project root and cwd.

fn lit(s: &str) -> PathExpr {
    PathExpr::Lit(s.as_bytes().to_vec())
}

fn data(s: &str) -> Data {
    Data::Lit(s.as_bytes().to_vec())
}

fn tree(files: &[(&str, &str)], dirs: &[&str], links: &[(&str, &str)]) -> MemFs {
    let mut fs = MemFs::new();
    fs.mkdir_p(b"/p");
    for d in dirs {
        fs.mkdir_p(d.as_bytes());
    }
    for (p, c) in files {
        fs.write(p.as_bytes(), c.as_bytes());
    }
    for (p, t) in links {
        fs.symlink(p.as_bytes(), t.as_bytes());
    }
    fs
}

#[track_caller]
fn assert_same(s0: &MemFs, stmts: Vec<Stmt>) {
    let program = Program { stmts };
    match same_entry(s0, &program) {
        Ok(Outcome::Same) => {}
        Ok(Outcome::Skipped(why)) => panic!("skipped: {why}"),
        Err(e) => panic!("{e}program:\n{program}"),
    }
}

#[test]
fn reads_of_a_file_and_of_missing_files() {
    let s0 = tree(&[("/p/a", "1"), ("/p/d/x.c", "2")], &[], &[]);
    assert_same(
        &s0,
        vec![
            Stmt::Do(Op::Read(lit("a"))),
            Stmt::Do(Op::Read(lit("b"))),
            Stmt::Do(Op::Read(lit("/p/d/x.c"))),
            Stmt::Do(Op::Read(lit("d/y.h"))),
            Stmt::Do(Op::Read(lit("a/x.c"))),
            Stmt::Do(Op::Read(lit("d"))),
            Stmt::Do(Op::Stat(lit("d/x.c"))),
        ],
    );
}

#[test]
fn a_glob_lists_then_reads() {
    let s0 = tree(&[("/p/d/x.c", "1"), ("/p/d/y.h", "2"), ("/p/d/b", "")], &["/p/d/a"], &[]);
    assert_same(
        &s0,
        vec![
            Stmt::ForEach {
                dir: lit("d"),
                suffix: b".c".to_vec(),
                body: vec![Stmt::Do(Op::Read(PathExpr::Each(vec![])))],
            },
            Stmt::Do(Op::Write(lit("out"), Data::Digest)),
        ],
    );
}

#[test]
fn writes_appends_and_creates() {
    let s0 = tree(&[("/p/a", "1"), ("/p/b", "2")], &["/p/d"], &[]);
    assert_same(
        &s0,
        vec![
            Stmt::Do(Op::Write(lit("a"), data("2"))),
            Stmt::Do(Op::Append(lit("b"), data("1"))),
            Stmt::Do(Op::Append(lit("x.c"), data("1"))),
            Stmt::Do(Op::Write(lit("d/y.h"), data(""))),
            Stmt::Do(Op::Write(lit("missing/y.h"), data("1"))),
            Stmt::Do(Op::Write(lit("d"), data("1"))),
        ],
    );
}

/// G22 and G24 of notes/model.md: writes over existing files (their prior metadata) and
/// through symlinks, dangling or not (how the final target resolved).
#[test]
fn writes_through_symlinks_record_their_final_targets() {
    let links = [("/p/l", "c"), ("/p/m", "a"), ("/p/n", "d/z"), ("/p/o", "n"), ("/p/q", "e")];
    let s0 = tree(&[("/p/a", "1")], &["/p/d"], &links);
    assert_same(
        &s0,
        vec![
            Stmt::Do(Op::Write(lit("l"), data("2"))),
            Stmt::Do(Op::Write(lit("m"), data("3"))),
            Stmt::Do(Op::Write(lit("o"), data("4"))),
            Stmt::Do(Op::Append(lit("q"), data("5"))),
            Stmt::Do(Op::Overwrite(lit("m"), data("6"))),
        ],
    );
}

#[test]
fn renaming_and_linking_a_symlink_reads_its_target() {
    let s0 = tree(&[("/p/a", "1")], &[], &[("/p/l", "a"), ("/p/m", "/p/a")]);
    assert_same(
        &s0,
        vec![
            Stmt::Do(Op::Rename(lit("l"), lit("out"))),
            Stmt::Do(Op::Link(lit("m"), lit("b"))),
            Stmt::Do(Op::Readlink(lit("out"))),
        ],
    );
}

/// G19 (notes/model.md): a rename between two names of one file (made by the run: `s0` is
/// materialised without hard links) moves nothing; between two files it records that they are
/// two (`SameFile`), in the tracer and in its mirror.
#[test]
fn renames_between_hard_links_and_between_two_files() {
    let s0 = tree(&[("/p/a", "1"), ("/p/c", "2"), ("/p/e", "3")], &[], &[]);
    assert_same(
        &s0,
        vec![
            Stmt::Do(Op::Link(lit("a"), lit("b"))),
            Stmt::Do(Op::Rename(lit("a"), lit("b"))),
            Stmt::Do(Op::Rename(lit("c"), lit("e"))),
            Stmt::Do(Op::Read(lit("a"))),
        ],
    );
}

#[test]
fn mkdir_and_failed_rmdirs() {
    let s0 = tree(&[("/p/d/a", "1")], &["/p/e"], &[]);
    assert_same(
        &s0,
        vec![
            Stmt::Do(Op::Mkdir(lit("x.c"))),
            Stmt::Do(Op::Mkdir(lit("x.c/y.h"))),
            Stmt::Do(Op::Mkdir(lit("d"))),
            Stmt::Do(Op::Mkdir(lit("b/a"))),
            Stmt::Do(Op::Mkdir(lit("e/"))),
            Stmt::Do(Op::Rmdir(lit("b"))),
            Stmt::Do(Op::Rmdir(lit("d/a"))),
            Stmt::Do(Op::Rmdir(lit("d/a/b"))),
        ],
    );
}

/// G3 (notes/model.md): `rmdir` lists the directory it removes (empty) or fails to remove
/// (`ENOTEMPTY`), in the tracer and in its mirror. This disagreed until the mirror caught up.
#[test]
fn rmdir_lists_the_directory() {
    let s0 = tree(&[("/p/d/a", "1")], &["/p/e"], &[]);
    assert_same(&s0, vec![Stmt::Do(Op::Rmdir(lit("e"))), Stmt::Do(Op::Rmdir(lit("d")))]);
}

#[test]
fn chdir_then_relative_reads() {
    let s0 = tree(&[("/p/d/a", "1"), ("/p/b", "2")], &[], &[]);
    assert_same(
        &s0,
        vec![
            Stmt::Do(Op::Chdir(lit("d"))),
            Stmt::Do(Op::Read(lit("a"))),
            Stmt::Do(Op::Read(lit("../b"))),
            Stmt::Do(Op::Stat(lit("x.c"))),
            Stmt::Do(Op::Chdir(lit("missing"))),
            Stmt::Do(Op::Write(lit("y.h"), data("1"))),
        ],
    );
}

#[test]
fn chmods_and_truncates_through_symlinks_and_of_directories() {
    let s0 =
        tree(&[("/p/a", "22"), ("/p/d/x.c", "1")], &["/p/e"], &[("/p/l", "a"), ("/p/m", "nx")]);
    assert_same(
        &s0,
        vec![
            Stmt::Do(Op::Chmod(lit("a"), 0o755)),
            Stmt::Do(Op::Chmod(lit("l"), 0o600)),
            Stmt::Do(Op::Chmod(lit("e"), 0o700)),
            Stmt::Do(Op::Chmod(lit("m"), 0o755)),
            Stmt::Do(Op::Chmod(lit("missing/a"), 0o755)),
            Stmt::Do(Op::Truncate(lit("d/x.c"), 3)),
            Stmt::Do(Op::Truncate(lit("l"), 1)),
            Stmt::Do(Op::Truncate(lit("e"), 0)),
            Stmt::Do(Op::Truncate(lit("a/"), 0)),
            Stmt::Do(Op::Truncate(lit("m"), 0)),
            Stmt::Do(Op::Stat(lit("a"))),
        ],
    );
}

#[test]
fn access_asks_the_mode_beyond_f_ok() {
    let s0 = tree(&[("/p/a", "1"), ("/p/b", "2")], &["/p/d"], &[("/p/l", "b"), ("/p/m", "nx")]);
    assert_same(
        &s0,
        vec![
            Stmt::Do(Op::Chmod(lit("b"), 0o755)),
            Stmt::Do(Op::Access(lit("a"), 0)),
            Stmt::Do(Op::Access(lit("a"), 4)),
            Stmt::Do(Op::Access(lit("a"), 1)),
            Stmt::Do(Op::Access(lit("l"), 1)),
            Stmt::Do(Op::Access(lit("d"), 7)),
            Stmt::Do(Op::Access(lit("m"), 0)),
            Stmt::Do(Op::Access(lit("a/"), 2)),
            Stmt::Do(Op::Access(lit("missing"), 1)),
        ],
    );
}

/// `O_RDWR|O_CREAT` is a read and a write-open that keeps the content (`keeps_content`):
/// the prior content and mode of an existing file, the absence of a created one (G5), and the
/// opens that fail.
#[test]
fn read_writes_read_the_prior_content() {
    let s0 = tree(&[("/p/a", "22")], &["/p/d"], &[("/p/l", "a"), ("/p/m", "nx")]);
    assert_same(
        &s0,
        vec![
            Stmt::Do(Op::Chmod(lit("a"), 0o600)),
            Stmt::Do(Op::ReadWrite(lit("a"), data("1"))),
            Stmt::Do(Op::ReadWrite(lit("l"), data("3"))),
            Stmt::Do(Op::ReadWrite(lit("m"), data("4"))),
            Stmt::Do(Op::ReadWrite(lit("b"), data("5"))),
            Stmt::Do(Op::ReadWrite(lit("d"), data("6"))),
            Stmt::Do(Op::ReadWrite(lit("a/"), data("7"))),
            Stmt::Do(Op::ReadWrite(lit("missing/x.c"), data("8"))),
        ],
    );
}

/// `utimensat` by path: a resolution at entry, following symlinks, and nothing else.
#[test]
fn touches_resolve_their_path() {
    let s0 = tree(&[("/p/a", "1")], &["/p/d"], &[("/p/l", "a"), ("/p/m", "nx")]);
    assert_same(
        &s0,
        vec![
            Stmt::Do(Op::Touch(lit("a"))),
            Stmt::Do(Op::Touch(lit("d"))),
            Stmt::Do(Op::Touch(lit("l"))),
            Stmt::Do(Op::Touch(lit("m"))),
            Stmt::Do(Op::Touch(lit("a/"))),
            Stmt::Do(Op::Touch(lit("missing/a"))),
            Stmt::Do(Op::Write(lit("b"), data("2"))),
            Stmt::Do(Op::Touch(lit("b"))),
        ],
    );
}

/// A failed `execve` (G32): the resolution, then for a regular file its metadata, and with an
/// execute bit its content.
#[test]
fn failed_execs_depend_on_the_file() {
    let s0 = tree(&[("/p/a", "1"), ("/p/e", "")], &["/p/d"], &[("/p/l", "x"), ("/p/m", "nx")]);
    assert_same(
        &s0,
        vec![
            Stmt::Do(Op::Exec(lit("a"))),
            Stmt::Do(Op::Chmod(lit("a"), 0o755)),
            Stmt::Do(Op::Exec(lit("a"))),
            Stmt::Do(Op::Chmod(lit("e"), 0o700)),
            Stmt::Do(Op::Symlink(Data::Lit(b"e".to_vec()), lit("x"))),
            Stmt::Do(Op::Exec(lit("l"))),
            Stmt::Do(Op::Exec(lit("d"))),
            Stmt::Do(Op::Exec(lit("m"))),
            Stmt::Do(Op::Exec(lit("a/"))),
            Stmt::Do(Op::Exec(lit("missing/a"))),
        ],
    );
}

/// `mknod` of a regular file is a create (`Pending::Create`, as `mkdir` and `symlink`).
#[test]
fn mknods_create_empty_files() {
    let s0 = tree(&[("/p/a", "1")], &["/p/d"], &[("/p/m", "nx")]);
    assert_same(
        &s0,
        vec![
            Stmt::Do(Op::Mknod(lit("b"))),
            Stmt::Do(Op::Mknod(lit("d/x.c"))),
            Stmt::Do(Op::Mknod(lit("a"))),
            Stmt::Do(Op::Mknod(lit("m"))),
            Stmt::Do(Op::Mknod(lit("c/"))),
            Stmt::Do(Op::Mknod(lit("missing/a"))),
            Stmt::Do(Op::Read(lit("b"))),
        ],
    );
}

/// `RENAME_NOREPLACE` records the new name's absence on success; `EEXIST` records both names
/// (and lists a directory in the way, as for `ENOTEMPTY`).
#[test]
fn renames_without_replacing() {
    let s0 = tree(&[("/p/a", "1"), ("/p/b", "2"), ("/p/e/x.c", "3")], &["/p/d"], &[("/p/l", "a")]);
    assert_same(
        &s0,
        vec![
            Stmt::Do(Op::RenameNoreplace(lit("a"), lit("c"))),
            Stmt::Do(Op::RenameNoreplace(lit("b"), lit("c"))),
            Stmt::Do(Op::RenameNoreplace(lit("b"), lit("e"))),
            Stmt::Do(Op::RenameNoreplace(lit("l"), lit("d/l"))),
            Stmt::Do(Op::RenameNoreplace(lit("d"), lit("f"))),
            Stmt::Do(Op::RenameNoreplace(lit("missing"), lit("g"))),
            Stmt::Do(Op::RenameNoreplace(lit("b"), lit("b"))),
        ],
    );
}

/// `RENAME_EXCHANGE` makes the run uncacheable; its failures are recorded as a rename's.
#[test]
fn exchanges_are_uncacheable() {
    let s0 = tree(&[("/p/a", "1"), ("/p/b", "2")], &["/p/d"], &[]);
    assert_same(
        &s0,
        vec![
            Stmt::Do(Op::Exchange(lit("a"), lit("missing"))),
            Stmt::Do(Op::Exchange(lit("a"), lit("b"))),
            Stmt::Do(Op::Exchange(lit("d"), lit("a"))),
            Stmt::Do(Op::Read(lit("a"))),
        ],
    );
}

/// `openat` and `fstatat` with a directory fd (G33): `opendir` is a read open of a directory;
/// a path relative to the fd is named from the path the directory was opened as, and is
/// uncacheable once the program changed something on the way of that path after the open.
#[test]
fn paths_relative_to_directory_fds() {
    let s0 = tree(
        &[("/p/a", "1"), ("/p/d/f", "2"), ("/p/e/f", "3")],
        &["/p/d/s"],
        &[("/p/l", "d"), ("/p/m", "nx")],
    );
    let at = |i: u8, rel: &str| Stmt::Do(Op::ReadAt(i, rel.as_bytes().to_vec()));
    let stat_at = |i: u8, rel: &str| Stmt::Do(Op::StatAt(i, rel.as_bytes().to_vec()));
    assert_same(
        &s0,
        vec![
            Stmt::Do(Op::OpenDir(lit("d"))),
            Stmt::Do(Op::OpenDir(lit("l"))),
            Stmt::Do(Op::OpenDir(lit("a"))),
            Stmt::Do(Op::OpenDir(lit("m"))),
            Stmt::Do(Op::OpenDir(lit("missing"))),
            at(0, "f"),
            at(1, "f"),
            at(0, "s"),
            at(0, "../a"),
            at(1, "missing"),
            at(2, "f"),
            stat_at(0, "f"),
            stat_at(1, "s/"),
            stat_at(1, "g"),
        ],
    );
    // The directory renamed, the symlink retargeted, by the program after the opens.
    assert_same(
        &s0,
        vec![
            Stmt::Do(Op::OpenDir(lit("d"))),
            Stmt::Do(Op::OpenDir(lit("l"))),
            Stmt::Do(Op::Unlink(lit("l"))),
            Stmt::Do(Op::Symlink(Data::Lit(b"e".to_vec()), lit("l"))),
            at(1, "f"),
            stat_at(1, "f"),
            Stmt::Do(Op::Rename(lit("d"), lit("g"))),
            at(0, "f"),
        ],
    );
    // A directory the program made, opened, then filled: the run's own, and cacheable.
    assert_same(
        &s0,
        vec![
            Stmt::Do(Op::Mkdir(lit("n"))),
            Stmt::Do(Op::OpenDir(lit("n"))),
            Stmt::Do(Op::Write(lit("n/f"), data("4"))),
            at(0, "f"),
            stat_at(0, "f"),
            at(0, "g"),
        ],
    );
}
