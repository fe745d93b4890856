//! The checks behind dry's fuzz targets, shared by `fuzz_targets/` (libFuzzer, nightly) and
//! `tests/corpus.rs` (the committed corpus, stable). Each panics on a violation.

use model::fs::Fs;
use model::lower::{order_effects, Final, Lowering};
use model::memfs::{MemFs, Snap};
use model::observe::{At, Observation};
use model::predicate::Predicate;
use model::resolve::{self as res, ResolveFlags, Resolved};
use model::scenario::{soundness as theorem, Bytes, Scenario, PROPOSED, SHIPPED};
use model::{path, Errno, FileKind, Hash};
use std::collections::HashMap;

/// Theorem 1, for the tracer and lowering as shipped and with the proposed fixes, on the
/// scenario the bytes decode to.
pub fn soundness(data: &[u8]) {
    let sc = Scenario::decode(data);
    if let Err(e) = theorem(&sc, SHIPPED) {
        panic!("soundness violated (as shipped): {e}\n{sc}");
    }
    if let Err(e) = theorem(&sc, PROPOSED) {
        panic!("soundness violated (proposed fixes): {e}\n{sc}");
    }
}

/// Opening arbitrary bytes as a database file, or as a fingerprint cache and looking paths up
/// in it, never panics.
pub fn open_db(data: &[u8]) {
    let _ = dry::store::decode_family_file(data, &Hash::of(b"family"));
    let cache = dry::store::FingerprintFile::from_bytes(data.to_vec());
    for (path, _, _) in cache.items() {
        let _ = cache.get(&path);
    }
    let _ = cache.get(data.get(..16).unwrap_or_default());
}

/// Resolution never panics on any tree, path and flags; on a symlink-free tree, resolving a
/// normalised absolute path reaches what direct lookups of its components reach.
pub fn resolve_paths(data: &[u8]) {
    let sc = Scenario::decode(data);
    let mut b = Bytes::new(data.get(data.len() / 2..).unwrap_or_default());
    for _ in 0..4 {
        let p = b.path(true);
        let flags = ResolveFlags {
            follow: b.below(2) == 0,
            reject_symlink: b.below(2) == 0,
            directory: b.below(2) == 0,
            create: b.below(2) == 0,
            exclusive: b.below(2) == 0,
            write: b.below(2) == 0,
        };
        let _ = res::resolve(&sc.s0, b"/p", &p, flags);
        let plain = without_symlinks(&sc.s0);
        let norm = path::normalize(&path::join(b"/p", &p));
        let got = match res::resolve(&plain, b"/", &norm, ResolveFlags::NOFOLLOW) {
            Ok(Resolved::Node(n)) => Ok(n),
            Ok(Resolved::Absent) => panic!("absent without create"),
            Err(e) => Err(e),
        };
        assert_eq!(got, direct(&plain, &norm), "{}", String::from_utf8_lossy(&norm));
    }
}

/// The fuzz target `resolve`.
pub fn resolve(data: &[u8]) {
    resolve_paths(data)
}

fn without_symlinks(fs: &MemFs) -> MemFs {
    let mut out = MemFs::new();
    for (p, s) in fs.snapshot() {
        match s {
            Snap::File { content, .. } => out.write(&p, &content),
            Snap::Dir { .. } => out.mkdir_p(&p),
            Snap::Symlink { .. } => {}
        }
    }
    out
}

fn direct(fs: &MemFs, norm: &[u8]) -> Result<usize, Errno> {
    let mut cur = fs.root();
    for comp in norm.split(|&c| c == b'/').filter(|c| !c.is_empty()) {
        if fs.meta(&cur)?.kind != FileKind::Directory {
            return Err(Errno::ENOTDIR);
        }
        cur = fs.lookup(&cur, comp)?.ok_or(Errno::ENOENT)?;
    }
    Ok(cur)
}

fn observation(b: &mut Bytes<'_>) -> Observation {
    let abs = path::normalize(&path::join(b"/p", &b.path(true)));
    let kinds = [FileKind::Regular, FileKind::Directory, FileKind::Symlink, FileKind::Other];
    let kind = kinds[usize::from(b.below(4))];
    match b.below(10) {
        0 | 1 => {
            let outcome = if b.below(3) == 0 { Err(Errno::ENOENT) } else { Ok(kind) };
            let at = At::new(b"/p", &b.path(true));
            Observation::Resolve { at, flags: ResolveFlags::FOLLOW, outcome, opened_for_read: true }
        }
        2 => Observation::Read { path: abs, hash: Hash::of(&[b.byte()]) },
        3 => {
            let meta = model::Meta { kind, mode: 0o644, size_bytes: 1 };
            // Shown to the command (a stat, with one of two identities) or not (an open's).
            let id = match b.below(3) {
                0 => None,
                n => Some((1, u64::from(n))),
            };
            Observation::Stat { path: abs, meta, id }
        }
        4 => Observation::ReadLink { path: abs, target: b.path(true) },
        5 => Observation::List { dir: abs, names: vec![b"a".to_vec(), b"x.c".to_vec()] },
        6 => {
            let before = if b.below(2) == 0 { None } else { Some(kind) };
            Observation::Touch { path: abs, before }
        }
        7 => {
            let from = path::normalize(&path::join(b"/p", &b.path(false)));
            Observation::TouchTree { from, path: abs }
        }
        8 => {
            let (want, granted) = (u32::from(b.below(8)), b.below(2) == 0);
            Observation::Access { path: abs, want, granted }
        }
        _ => {
            let other = path::join(b"/p", &b.path(true));
            let same = b.below(2) == 0;
            Observation::SameFile { a: abs, b: other, flags: ResolveFlags::NOFOLLOW, same }
        }
    }
}

fn lower_prefix(obs: &[Observation], finals: &HashMap<Vec<u8>, Final>) -> model::lower::Lowered {
    let mut l = Lowering::new();
    for o in obs {
        l.observe(o);
    }
    l.finish(b"/p", finals)
}

/// Lowering arbitrary observation sequences never panics, orders its effects, and never makes
/// a predicate of an observation of a path the run had already changed.
pub fn lower_events(data: &[u8]) {
    let mut b = Bytes::new(data);
    let mut obs = Vec::new();
    while b.more() && obs.len() < 24 {
        obs.push(observation(&mut b));
    }
    let mut finals = HashMap::new();
    for o in &obs {
        if let Observation::Touch { path, .. } = o {
            let f = match path.len() % 3 {
                0 => Final::Absent,
                1 => Final::Dir { mode: 0o755 },
                _ => {
                    Final::File { hash: Hash::of(path), mode: 0o644, shared_inode: None, links: 1 }
                }
            };
            finals.insert(path.clone(), f);
        }
    }
    let all = lower_prefix(&obs, &finals);
    assert_eq!(order_effects(all.effects.clone()), all.effects, "effects out of order");
    // Paths first changed while absent: `finish` records their absence before the run (gap G4
    // of notes/model.md), which is a predicate about the state before any change.
    let mut created: Vec<&[u8]> = Vec::new();
    let mut touched: Vec<&[u8]> = Vec::new();
    for o in &obs {
        if let Observation::Touch { path, before } = o {
            if !touched.contains(&path.as_slice()) {
                touched.push(path);
                if before.is_none() {
                    created.push(path);
                }
            }
        }
    }
    // Likewise `finish` records which stat'ed paths were one file, once for the whole run.
    let absence_before_run = |p: &Predicate| match p {
        Predicate::DoesNotResolve { base, path, .. } => {
            base.as_slice() == b"/" && created.contains(&path::normalize(path).as_slice())
        }
        Predicate::Identities { .. } => true,
        _ => false,
    };
    let mut seen = 0;
    for i in 1..=obs.len() {
        let preds: Vec<Predicate> = lower_prefix(&obs[..i], &HashMap::new())
            .predicates
            .into_iter()
            .filter(|p| !absence_before_run(p))
            .collect();
        let changed: Vec<&[u8]> = obs[..i - 1]
            .iter()
            .filter_map(|o| match o {
                Observation::Touch { path, .. } => Some(path.as_slice()),
                _ => None,
            })
            .collect();
        for p in &preds[seen..] {
            let mut subjects = vec![p.subject()];
            if let Predicate::SameFile { b, .. } = p {
                subjects.push(path::normalize(b));
            }
            for subject in subjects {
                assert!(
                    !changed.iter().any(|c| path::is_within(&subject, c)),
                    "predicate about {} after the run changed it",
                    String::from_utf8_lossy(&subject)
                );
            }
        }
        seen = preds.len();
    }
}
