//! Checking predicates against a filesystem: the decision between replaying and running.

use crate::effect::Effect;
use crate::entry::Entry;
use crate::fs::{FileKind, Fs};
use crate::hash::Hash;
use crate::into_output::{IntoOutputs, Reached};
use crate::predicate::{Predicate, StdinKind};
use crate::resolve::{resolve, resolve_kind, ResolveFlags, Resolved};
use crate::verdict::{Observed, Verdict};
use crate::view::PredicateView;
use std::collections::HashSet;
use std::ops::Deref;

/// Where the content of standard input comes from during a check: the live checker reads its
/// own standard input's file, tests supply a value.
pub trait StdinSource {
    /// Returns the content hash of standard input if it is a regular file.
    fn stdin_hash(&self) -> Option<Hash>;

    /// Returns what standard input is.
    fn stdin_kind(&self) -> StdinKind;

    /// Returns `(st_dev, st_ino)` of standard input's open file, if known: a regular file on
    /// standard input that is also one of an entry's outputs is read after the command changed
    /// it (`tee e < e`), so its content at the start says nothing (`src/decide.rs`).
    fn stdin_identity(&self) -> Option<(u64, u64)> {
        None
    }

    /// Returns `(st_dev, st_ino)` of the regular files that standard output and standard
    /// error (in that order) go to, where they are regular files. Such a file is an output of
    /// the command, written while it runs and not recorded as a file effect, so a predicate
    /// whose path reaches it is about a state the command did not see (`cat a >> a`, or `a`
    /// a symlink to the file `cat a >> b` appends to): the check fails it
    /// ([`crate::into_output`]).
    fn output_files(&self) -> [Option<(u64, u64)>; 2] {
        [None, None]
    }
}

/// Standard input that is `/dev/null`.
pub struct NoStdin;

impl StdinSource for NoStdin {
    fn stdin_hash(&self) -> Option<Hash> {
        None
    }

    fn stdin_kind(&self) -> StdinKind {
        StdinKind::Null
    }
}

/// Checks `predicates` in order and returns the first that fails, or [`Verdict::Holds`].
pub fn check<F: Fs>(predicates: &[Predicate], fs: &F, stdin: &dyn StdinSource) -> Verdict {
    check_views(predicates.iter().map(Predicate::view), fs, stdin)
}

/// [`check`] over borrowed views (owned or archived predicates): strictly, without the output
/// rule, so a [`Verdict::Holds`] here implies that [`check_in_family`] holds as well.
pub fn check_views<'a, F: Fs, N: Deref<Target = [u8]> + 'a>(
    predicates: impl IntoIterator<Item = PredicateView<'a, N>>,
    fs: &F,
    stdin: &dyn StdinSource,
) -> Verdict {
    for (index, p) in predicates.into_iter().enumerate() {
        if let Some(observed) = check_view(p, fs, stdin) {
            return Verdict::Fails { index, observed };
        }
    }
    Verdict::Holds
}

/// Checks one predicate; returns what was observed if it fails, `None` if it holds.
pub fn check_one<F: Fs>(p: &Predicate, fs: &F, stdin: &dyn StdinSource) -> Option<Observed> {
    check_view(p.view(), fs, stdin)
}

/// [`check_one`] over a borrowed view: an owned predicate's or an archived one's (a database
/// file read in place). The one definition of what each predicate means.
pub fn check_view<F: Fs, N: Deref<Target = [u8]>>(
    p: PredicateView<'_, N>,
    fs: &F,
    stdin: &dyn StdinSource,
) -> Option<Observed> {
    match p {
        PredicateView::Resolves { path, base, flags, to } => {
            match resolve_kind(fs, base, path, flags) {
                Ok(kind) if kind == to => None,
                Ok(kind) => Some(Observed::Kind(kind)),
                Err(e) => Some(Observed::Errno(e)),
            }
        }
        PredicateView::DoesNotResolve { path, base, flags, errno } => {
            match resolve_kind(fs, base, path, flags) {
                Err(e) if e == errno => None,
                Err(e) => Some(Observed::Errno(e)),
                Ok(kind) => Some(Observed::Kind(kind)),
            }
        }
        PredicateView::Content { path, hash } => {
            let node = match node_at(fs, path, ResolveFlags::FOLLOW) {
                Ok(n) => n,
                Err(o) => return Some(o),
            };
            match fs.meta(&node) {
                Ok(m) if m.kind != FileKind::Regular => return Some(Observed::Kind(m.kind)),
                Err(e) => return Some(Observed::Errno(e)),
                Ok(_) => {}
            }
            match fs.content_hash(&node) {
                Ok(h) if h == hash => None,
                Ok(h) => Some(Observed::Hash(h)),
                Err(e) => Some(Observed::Errno(e)),
            }
        }
        PredicateView::Access { path, want, granted } => {
            let node = match node_at(fs, path, ResolveFlags::FOLLOW) {
                Ok(n) => n,
                Err(o) => return Some(o),
            };
            match fs.grants(&node, want) {
                Ok(g) if g == granted => None,
                Ok(g) => Some(Observed::Access(g)),
                Err(e) => Some(Observed::Errno(e)),
            }
        }
        PredicateView::Metadata { path, kind, mode, size_bytes } => {
            let node = match node_at(fs, path, ResolveFlags::FOLLOW) {
                Ok(n) => n,
                Err(o) => return Some(o),
            };
            match fs.meta(&node) {
                Ok(m) => {
                    let size = if m.kind == FileKind::Regular { m.size_bytes } else { 0 };
                    if m.kind == kind && m.mode == mode && size == size_bytes {
                        None
                    } else {
                        Some(Observed::Meta { kind: m.kind, mode: m.mode, size_bytes: size })
                    }
                }
                Err(e) => Some(Observed::Errno(e)),
            }
        }
        PredicateView::Listing { dir, names } => {
            let node = match node_at(fs, dir, ResolveFlags::DIRECTORY) {
                Ok(n) => n,
                Err(o) => return Some(o),
            };
            let recorded: Vec<&[u8]> = names.iter().map(|n| &**n).collect();
            if fs.vouches_for_listing(&node, &recorded) {
                return None;
            }
            match fs.list(&node) {
                Ok(now) if now.iter().map(Vec::as_slice).eq(recorded.iter().copied()) => None,
                Ok(now) => {
                    // Sets, not scans: a listing can hold 100 000 names.
                    let was: HashSet<&[u8]> = recorded.iter().copied().collect();
                    let current: HashSet<&[u8]> = now.iter().map(Vec::as_slice).collect();
                    // Names the filesystem leaves out of listings do not count, added or
                    // removed (`Fs::leaves_out`: asked only of the names that differ).
                    let left_out = std::cell::Cell::new(0usize);
                    let counts = |name: &[u8]| {
                        let out = fs.leaves_out(&node, name);
                        left_out.set(left_out.get() + usize::from(out));
                        !out
                    };
                    let added: Vec<Vec<u8>> = now
                        .iter()
                        .filter(|n| !was.contains(n.as_slice()) && counts(n))
                        .cloned()
                        .collect();
                    let removed: Vec<Vec<u8>> = names
                        .iter()
                        .filter(|n| !current.contains(&***n) && counts(n))
                        .map(|n| n.to_vec())
                        .collect();
                    if added.is_empty() && removed.is_empty() && left_out.get() > 0 {
                        return None;
                    }
                    Some(Observed::Names { added, removed })
                }
                Err(e) => Some(Observed::Errno(e)),
            }
        }
        PredicateView::Readlink { path, target } => {
            let node = match node_at(fs, path, ResolveFlags::NOFOLLOW) {
                Ok(n) => n,
                Err(o) => return Some(o),
            };
            match fs.read_link(&node) {
                Ok(t) if t == target => None,
                Ok(t) => Some(Observed::Target(t)),
                Err(e) => Some(Observed::Errno(e)),
            }
        }
        PredicateView::Stdin { hash } => match stdin.stdin_hash() {
            Some(h) if h == hash => None,
            Some(h) => Some(Observed::Hash(h)),
            None => Some(Observed::NoStdinFile),
        },
        PredicateView::StdinIs { kind } => match stdin.stdin_kind() {
            now if now == kind => None,
            now => Some(Observed::Stdin(now)),
        },
        PredicateView::SameFile { a, b, flags, same } => {
            let identity = |path| {
                let node = node_at(fs, path, flags)?;
                fs.identity(&node).map_err(Observed::Errno)
            };
            let now = match (identity(a), identity(b)) {
                (Ok(a), Ok(b)) => a == b,
                (Err(o), _) | (_, Err(o)) => return Some(o),
            };
            (now != same).then_some(Observed::SameFile(now))
        }
        PredicateView::Identities { groups } => identities(groups, fs),
        PredicateView::Links { path, count, mode } => {
            let node = match node_at(fs, path, ResolveFlags::FOLLOW) {
                Ok(n) => n,
                Err(Observed::Errno(crate::Errno::ENOENT)) if count == 0 => return None,
                Err(o) => return Some(o),
            };
            let now = fs.link_count(&node).and_then(|n| Ok((n, fs.meta(&node)?.mode)));
            match now {
                // Created then, one name with the created mode now: truncated, it ends the same.
                Ok((n, m)) if n == count.max(1) && m == mode => None,
                Ok((n, m)) => Some(Observed::Links(n, m)),
                Err(e) => Some(Observed::Errno(e)),
            }
        }
    }
}

/// Checks a [`Predicate::Identities`]: each path (followed) reaches one file, the same for the
/// paths of one group (separated by an empty name), and another for each group.
fn identities<F: Fs, N: Deref<Target = [u8]>>(groups: &[N], fs: &F) -> Option<Observed> {
    let mut first: std::collections::HashMap<(u64, u64), &[u8]> = Default::default();
    let mut group_start: Option<(&[u8], (u64, u64))> = None;
    for path in groups.iter().map(|p| &**p) {
        if path.is_empty() {
            group_start = None;
            continue;
        }
        let node = match node_at(fs, path, ResolveFlags::FOLLOW) {
            Ok(n) => n,
            Err(o) => return Some(o),
        };
        let id = match fs.identity(&node) {
            Ok(id) => id,
            Err(e) => return Some(Observed::Errno(e)),
        };
        match group_start {
            None => {
                if let Some(other) = first.get(&id) {
                    let (a, b) = (other.to_vec(), path.to_vec());
                    return Some(Observed::Identities { a, b, same: true });
                }
                first.insert(id, path);
                group_start = Some((path, id));
            }
            Some((head, head_id)) if head_id != id => {
                let (a, b) = (head.to_vec(), path.to_vec());
                return Some(Observed::Identities { a, b, same: false });
            }
            Some(_) => {}
        }
    }
    None
}

/// The rules a check applies on top of the predicates as recorded.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Rules {
    /// The *output rule* (notes/0005-output-rule.md): a predicate about one of the entry's own
    /// outputs also holds when that output is exactly as a run of the family left it. This is
    /// the assumption of output idempotence: a command's own outputs, left as it left them, are
    /// not its inputs. `dry build`'s default.
    #[default]
    OutputsIdempotent,
    /// No relaxation of any kind (listings included): every predicate must hold as recorded,
    /// and a replay equals a rerun even for a command that reads or probes its own previous
    /// output (`dry build --strict`). Theorem 1 of notes/model.md is about this check.
    Strict,
}

/// Checks an entry's predicates with the *output rule*: a predicate about a path that the entry
/// itself writes (one of its effects) also holds when that path is, right now, exactly in the
/// state the effect leaves it in; a `Listing` holds when it differs only by such outputs, and a
/// `SameFile` when its first name (the old name of a rename) is such an output. `Content` and
/// `Stdin` predicates are never relaxed.
///
/// Why: many tools probe their own output before writing it (GNU ld `stat`s and unlinks it, cp
/// opens it with `O_EXCL` first). Strictly, such a run depends on the output's absence, and the
/// next check, finding the output present, would rerun it once more, and again after every
/// change that alters the output's size. The rule assumes *output idempotence*: a command
/// that finds its outputs already as it would leave them behaves as if they were absent. A
/// command that reads its own previous output (an append, a read-write open) is still checked
/// strictly, because its prior content is a `Content` predicate. See notes/0005-output-rule.md.
pub fn check_entry<F: Fs>(entry: &Entry, fs: &F, stdin: &dyn StdinSource) -> Verdict {
    check_in_family(entry, std::slice::from_ref(entry), fs, stdin)
}

/// [`check_entry`] where an output may also be in the state that another recorded run of the
/// same command (`family`) left it in: going back to older inputs then replays the older run
/// even though a newer run's outputs are on disk (notes/0005-output-rule.md).
pub fn check_in_family<F: Fs>(
    entry: &Entry,
    family: &[Entry],
    fs: &F,
    stdin: &dyn StdinSource,
) -> Verdict {
    let siblings: Vec<&[Effect]> = family.iter().map(|e| e.effects.as_slice()).collect();
    let predicates = entry.predicates.iter().map(Predicate::view);
    check_views_in_family(predicates, Own::of(entry), &siblings, fs, stdin)
}

/// An entry's own outputs, as a check needs them: its effects, and for each how many of its
/// predicates had been observed when the run first changed it ([`Entry::effects_since`]).
#[derive(Clone, Copy, Debug)]
pub struct Own<'e> {
    /// The entry's effects.
    pub effects: &'e [Effect],
    /// [`Entry::effects_since`].
    pub since: &'e [u32],
}

impl<'e> Own<'e> {
    /// No outputs.
    pub const NONE: Own<'static> = Own { effects: &[], since: &[] };

    /// The outputs of `entry`.
    pub fn of(entry: &'e Entry) -> Own<'e> {
        Own { effects: &entry.effects, since: &entry.effects_since }
    }
}

/// [`check_in_family`] under `rules`: with [`Rules::Strict`], every predicate as recorded (the
/// strict [`check`]) and no walk into the entry's outputs through an input symlink.
pub fn check_with_rules<F: Fs>(
    rules: Rules,
    entry: &Entry,
    family: &[Entry],
    fs: &F,
    stdin: &dyn StdinSource,
) -> Verdict {
    match rules {
        Rules::OutputsIdempotent => check_in_family(entry, family, fs, stdin),
        Rules::Strict => {
            // No run's outputs are in place for the output rule; the entry's own still guard
            // walks through input symlinks (gap G6).
            let predicates = entry.predicates.iter().map(Predicate::view);
            check_views_in_family(predicates, Own::of(entry), &[], fs, stdin)
        }
    }
}

/// [`check_in_family`] over borrowed views (owned or archived predicates): the entry's
/// predicates, its `own` outputs, and the effects of every run of the family (`siblings`, the
/// entry's own among them; none under [`Rules::Strict`]).
pub fn check_views_in_family<'a, F: Fs, N: Deref<Target = [u8]> + 'a>(
    predicates: impl IntoIterator<Item = PredicateView<'a, N>>,
    own: Own<'_>,
    siblings: &[&[Effect]],
    fs: &F,
    stdin: &dyn StdinSource,
) -> Verdict {
    check_views_in_family_deferring(predicates, |_| false, own, siblings, fs, stdin)
}

/// [`check_views_in_family`], checking the predicates `defer` picks after the others: the
/// verdict is the same, that of the first predicate that fails *in order*, because checking
/// only reads the filesystem (a deferred predicate that comes before a failing one is still
/// checked, and wins if it fails too). A filesystem that can answer some predicates sooner
/// than others (the live checker reads a big listing on another thread while it walks the
/// files) checks the others meanwhile.
pub fn check_views_in_family_deferring<'a, F: Fs, N: Deref<Target = [u8]> + 'a>(
    predicates: impl IntoIterator<Item = PredicateView<'a, N>>,
    defer: impl Fn(&PredicateView<'a, N>) -> bool,
    own: Own<'_>,
    siblings: &[&[Effect]],
    fs: &F,
    stdin: &dyn StdinSource,
) -> Verdict {
    let mut deferred = Vec::new();
    let mut failed = None;
    let outputs = Outputs::new(own.effects, siblings);
    let guard = IntoOutputs::new(fs, own.effects, own.since, stdin.output_files());
    let check_one = |index, p| check_in_family_one(index, p, &outputs, &guard, fs, stdin);
    for (index, p) in predicates.into_iter().enumerate() {
        if defer(&p) {
            deferred.push((index, p));
        } else if let Some(observed) = check_one(index, p) {
            failed = Some(Verdict::Fails { index, observed });
            break;
        }
    }
    for (index, p) in deferred {
        if matches!(failed, Some(Verdict::Fails { index: f, .. }) if f < index) {
            break;
        }
        if let Some(observed) = check_one(index, p) {
            return Verdict::Fails { index, observed };
        }
    }
    failed.unwrap_or(Verdict::Holds)
}

/// Checks one predicate with the output rule: what was observed if it fails, `None` if it
/// holds (strictly, or because the entry's own outputs explain the difference). A walk that
/// followed an input symlink into one of the outputs that the run had changed before observing
/// this predicate fails it under any rules (gap G6, [`crate::into_output`]): the command met
/// the output changed, not as it is before the run.
fn check_in_family_one<F: Fs, N: Deref<Target = [u8]>>(
    index: usize,
    p: PredicateView<'_, N>,
    outputs: &Outputs<'_>,
    guard: &IntoOutputs<'_, '_, F>,
    fs: &F,
    stdin: &dyn StdinSource,
) -> Option<Observed> {
    // A file's content and a directory's names are read through a descriptor after the open
    // that recorded them, maybe after the command changed an output that is the same file
    // (`dd if=c of=a` with `c -> a` reads what it truncated): they count as observed at the
    // end. Every other predicate is about one call, at its place in the run.
    let at_end = matches!(p, PredicateView::Content { .. } | PredicateView::Listing { .. });
    guard.start(if at_end { usize::MAX } else { index });
    let observed = check_view(p, guard, stdin);
    // An `Identities` walks the paths of the `Metadata` predicates, each guarded at its place.
    let reached = guard.reached().filter(|_| !matches!(p, PredicateView::Identities { .. }));
    match reached {
        Some(Reached::Output(output)) => return Some(Observed::IntoOutput(output.to_vec())),
        Some(Reached::Stream(fd)) => return Some(Observed::OutputStream(fd)),
        None => {}
    }
    let observed = observed?;
    let relaxed = match (p, &observed) {
        (PredicateView::Listing { dir, .. }, Observed::Names { added, removed }) => {
            listing_differs_by_outputs(dir, added, removed, outputs, fs)
        }
        _ => output_in_place(p, outputs, fs),
    };
    (!relaxed).then_some(observed)
}

/// The outputs the output rule looks at: the entry's own `effects` and those of every run of
/// its family (`siblings`, the entry's own among them), with, per run, whether *all* its
/// outputs are in place now (found at most once per check).
///
/// The rule's premise is that the command finds each of its outputs as one of its runs left it
/// or absent: then, being output-idempotent, it behaves as if they were all absent. A
/// predicate about one output is relaxed only when every output of that run is in place or
/// absent (every path it created or changed: a path it removed is judged by the predicates
/// about it), not just the one it is about (the differential fuzzer: `mkdir -p d/b`, then `d/b`
/// replaced by a symlink, was replayed because `d` was still in place, where a run fails).
struct Outputs<'e> {
    effects: &'e [Effect],
    siblings: &'e [&'e [Effect]],
    whole: Vec<std::cell::Cell<Option<bool>>>,
}

impl<'e> Outputs<'e> {
    fn new(effects: &'e [Effect], siblings: &'e [&'e [Effect]]) -> Outputs<'e> {
        let whole = siblings.iter().map(|_| std::cell::Cell::new(None)).collect();
        Outputs { effects, siblings, whole }
    }

    /// The entry's own effect at normalized `path`, if it has one.
    fn effect_at(&self, path: &[u8]) -> Option<&'e Effect> {
        self.effects.iter().find(|e| e.path() == path)
    }

    /// Whether normalized `path` is one of the entry's outputs and is now as a run of the
    /// family left it, every other output of that run being as it left it or absent.
    fn in_place<F: Fs>(&self, path: &[u8], fs: &F) -> bool {
        self.effect_at(path).is_some()
            && self.siblings.iter().enumerate().any(|(i, run)| {
                run.iter().filter(|e| e.path() == path).any(|e| effect_in_place(e, fs))
                    && self.all_in_place(i, fs)
            })
    }

    fn all_in_place<F: Fs>(&self, i: usize, fs: &F) -> bool {
        if let Some(known) = self.whole[i].get() {
            return known;
        }
        // A removal (`Effect::Absent`) found the path there: the entry's predicates about it
        // are checked on their own, and a path there again is not an output left in a third
        // state.
        let all = self.siblings[i].iter().all(|e| {
            matches!(e, Effect::Absent { .. })
                || effect_in_place(e, fs)
                || matches!(
                    resolve(fs, b"/", e.path(), ResolveFlags::NOFOLLOW),
                    Ok(Resolved::Absent) | Err(crate::Errno::ENOENT)
                )
        });
        self.whole[i].set(Some(all));
        all
    }
}

/// Whether a listing differs from the recorded one only by the entry's own outputs, each in
/// the state this run or a sibling run left it: names it created (present now) and names it
/// removed (absent now). Running `make` again after a build lists the objects it made.
fn listing_differs_by_outputs<F: Fs>(
    dir: &[u8],
    added: &[Vec<u8>],
    removed: &[Vec<u8>],
    outputs: &Outputs<'_>,
    fs: &F,
) -> bool {
    let dir = crate::path::normalize(dir);
    added.iter().chain(removed).all(|name| {
        let path = crate::path::normalize(&crate::path::join(&dir, name));
        outputs.in_place(&path, fs)
    })
}

/// Whether `p` is about one of `effects`' paths and that path is now as this run, or another
/// run of the family, left it.
fn output_in_place<F: Fs, N: Deref<Target = [u8]>>(
    p: PredicateView<'_, N>,
    outputs: &Outputs<'_>,
    fs: &F,
) -> bool {
    // Whether the predicate's last component is followed: through an output symlink it is
    // about the symlink's target, which is not an output (the differential fuzzer: `ln -sf
    // nope d/a` after a probe of `d/a`; writing `d/a` from outside creates `d/nope`). Only a
    // dangling one looks, followed, as an absent output does.
    let follows = match p {
        PredicateView::Resolves { flags, .. } | PredicateView::DoesNotResolve { flags, .. } => {
            flags.follow
        }
        PredicateView::Metadata { .. }
        | PredicateView::SameFile { .. }
        | PredicateView::Links { .. }
        | PredicateView::Access { .. } => true,
        PredicateView::Readlink { .. } => false,
        PredicateView::Content { .. }
        | PredicateView::Listing { .. }
        | PredicateView::Stdin { .. }
        | PredicateView::StdinIs { .. }
        | PredicateView::Identities { .. } => return false,
    };
    let subject = crate::path::normalize(&p.subject());
    if follows && matches!(outputs.effect_at(&subject), Some(Effect::Symlink { .. })) {
        let dangling = match resolve(fs, b"/", &subject, ResolveFlags::FOLLOW) {
            Ok(Resolved::Absent) => true,
            Ok(Resolved::Node(_)) => false,
            Err(e) => e == crate::Errno::ENOENT,
        };
        if !dangling {
            return false;
        }
    }
    outputs.in_place(&subject, fs)
}

/// Whether the live state of an effect's path is the state the effect leaves.
pub fn effect_in_place<F: Fs>(effect: &Effect, fs: &F) -> bool {
    let node = match resolve(fs, b"/", effect.path(), ResolveFlags::NOFOLLOW) {
        Ok(Resolved::Node(n)) => n,
        Ok(Resolved::Absent) | Err(_) => return matches!(effect, Effect::Absent { .. }),
    };
    let Ok(meta) = fs.meta(&node) else { return false };
    match effect {
        Effect::File { hash, mode, .. } => {
            meta.kind == FileKind::Regular
                && meta.mode == *mode & 0o1777
                && fs.content_hash(&node).ok() == Some(*hash)
        }
        Effect::Dir { .. } => meta.kind == FileKind::Directory,
        Effect::Symlink { target, .. } => {
            meta.kind == FileKind::Symlink && fs.read_link(&node).ok().as_ref() == Some(target)
        }
        Effect::HardLink { to, .. } => {
            // The same file as `to` (whose own effect says what it holds).
            let same = |n: &F::Node| fs.identity(n).ok();
            let to = match resolve(fs, b"/", to, ResolveFlags::NOFOLLOW) {
                Ok(Resolved::Node(t)) => t,
                _ => return false,
            };
            meta.kind == FileKind::Regular && same(&node).is_some() && same(&node) == same(&to)
        }
        Effect::Absent { .. } => false,
    }
}

fn node_at<F: Fs>(fs: &F, path: &[u8], flags: ResolveFlags) -> Result<F::Node, Observed> {
    match resolve(fs, b"/", path, flags) {
        Ok(Resolved::Node(n)) => Ok(n),
        Ok(Resolved::Absent) => Err(Observed::Errno(crate::Errno::ENOENT)),
        Err(e) => Err(Observed::Errno(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::effect::Effect;
    use crate::entry::Entry;
    use crate::errno::Errno;
    use crate::memfs::MemFs;

    #[test]
    fn each_predicate_fails_after_the_change_it_guards() {
        let mut fs = MemFs::new();
        fs.write(b"/p/inc2/a.h", b"2");
        fs.mkdir_p(b"/p/inc1");
        fs.symlink(b"/p/l", b"inc2/a.h");
        let preds = vec![
            Predicate::DoesNotResolve {
                path: b"inc1/a.h".to_vec(),
                base: b"/p".to_vec(),
                flags: ResolveFlags::FOLLOW,
                errno: Errno::ENOENT,
            },
            Predicate::Resolves {
                path: b"inc2/a.h".to_vec(),
                base: b"/p".to_vec(),
                flags: ResolveFlags::FOLLOW,
                to: FileKind::Regular,
            },
            Predicate::Content { path: b"/p/inc2/a.h".to_vec(), hash: Hash::of(b"2") },
            Predicate::Listing { dir: b"/p/inc2".to_vec(), names: vec![b"a.h".to_vec()] },
            Predicate::Readlink { path: b"/p/l".to_vec(), target: b"inc2/a.h".to_vec() },
        ];
        assert_eq!(check(&preds, &fs, &NoStdin), Verdict::Holds);

        let mut shadowed = fs.clone();
        shadowed.write(b"/p/inc1/a.h", b"1");
        assert_eq!(
            check(&preds, &shadowed, &NoStdin),
            Verdict::Fails { index: 0, observed: Observed::Kind(FileKind::Regular) }
        );
        let mut edited = fs.clone();
        edited.write(b"/p/inc2/a.h", b"3");
        assert_eq!(
            check(&preds, &edited, &NoStdin),
            Verdict::Fails { index: 2, observed: Observed::Hash(Hash::of(b"3")) }
        );
        let mut listed = fs.clone();
        listed.write(b"/p/inc2/b.h", b"");
        assert!(matches!(check(&preds, &listed, &NoStdin), Verdict::Fails { index: 3, .. }));
        let mut relinked = fs.clone();
        relinked.symlink(b"/p/l", b"elsewhere");
        assert_eq!(
            check(&preds, &relinked, &NoStdin),
            Verdict::Fails { index: 4, observed: Observed::Target(b"elsewhere".to_vec()) }
        );
    }

    fn entry(predicates: Vec<Predicate>, effects: Vec<Effect>) -> Entry {
        use crate::entry::{Captured, ExitStatus};
        let none = Captured { hash: Hash::of(b""), size_bytes: 0 };
        Entry {
            key: crate::CommandKey::new(
                b"/bin/x".to_vec(),
                Hash::of(b""),
                vec![],
                b".".to_vec(),
                vec![],
                &[],
            ),
            predicates,
            effects,
            effects_since: vec![],
            stdout: none,
            stderr: none,
            exit: ExitStatus::Code(0),
            run_ns: 0,
            recorded_unix_ns: 0,
            uncacheable: vec![],
            unknown_syscalls: vec![],
        }
    }

    #[test]
    fn a_probe_of_an_output_holds_when_the_output_is_in_place() {
        let probe = Predicate::DoesNotResolve {
            path: b"out".to_vec(),
            base: b"/p".to_vec(),
            flags: ResolveFlags::NOFOLLOW,
            errno: Errno::ENOENT,
        };
        let effect =
            Effect::File { path: b"/p/out".to_vec(), hash: Hash::of(b"made"), mode: 0o644 };
        let e = entry(vec![probe.clone()], vec![effect]);
        let mut fs = MemFs::new();
        fs.mkdir_p(b"/p");
        assert!(check_entry(&e, &fs, &NoStdin).holds(), "absent: the probe holds as recorded");
        fs.write(b"/p/out", b"made");
        assert!(check_entry(&e, &fs, &NoStdin).holds(), "the output as the run left it");
        assert!(!check(&e.predicates, &fs, &NoStdin).holds(), "strict checking still fails");
        fs.write(b"/p/out", b"edited");
        assert!(!check_entry(&e, &fs, &NoStdin).holds(), "an edited output is not in place");
    }

    #[test]
    fn a_listing_that_gained_only_the_entrys_outputs_holds() {
        let listing = Predicate::Listing { dir: b"/p".to_vec(), names: vec![b"a.c".to_vec()] };
        let effect = Effect::File { path: b"/p/a.o".to_vec(), hash: Hash::of(b"obj"), mode: 0o644 };
        let e = entry(vec![listing], vec![effect]);
        let mut fs = MemFs::new();
        fs.write(b"/p/a.c", b"src");
        fs.write(b"/p/a.o", b"obj");
        assert!(check_entry(&e, &fs, &NoStdin).holds());
        fs.write(b"/p/b.c", b"new source");
        assert!(!check_entry(&e, &fs, &NoStdin).holds(), "a new source is a real change");
        fs.remove(b"/p/b.c");
        fs.write(b"/p/a.o", b"edited");
        assert!(!check_entry(&e, &fs, &NoStdin).holds(), "an output not in place");
    }

    /// A filesystem that leaves names ending in `.swp` out of listings, as a `.dryignore`
    /// holding `*.swp` makes the live one do.
    struct LeavingOutSwp<'a>(&'a MemFs);

    impl Fs for LeavingOutSwp<'_> {
        type Node = usize;
        fn root(&self) -> usize {
            self.0.root()
        }
        fn lookup(&self, dir: &usize, name: &[u8]) -> Result<Option<usize>, crate::Errno> {
            self.0.lookup(dir, name)
        }
        fn parent(&self, dir: &usize) -> usize {
            self.0.parent(dir)
        }
        fn meta(&self, node: &usize) -> Result<crate::fs::Meta, crate::Errno> {
            self.0.meta(node)
        }
        fn read_link(&self, node: &usize) -> Result<Vec<u8>, crate::Errno> {
            self.0.read_link(node)
        }
        fn content_hash(&self, node: &usize) -> Result<Hash, crate::Errno> {
            self.0.content_hash(node)
        }
        fn list(&self, node: &usize) -> Result<Vec<Vec<u8>>, crate::Errno> {
            self.0.list(node)
        }
        fn identity(&self, node: &usize) -> Result<(u64, u64), crate::Errno> {
            self.0.identity(node)
        }
        fn link_count(&self, node: &usize) -> Result<u64, crate::Errno> {
            self.0.link_count(node)
        }
        fn grants(&self, node: &usize, want: u32) -> Result<bool, crate::Errno> {
            self.0.grants(node, want)
        }
        fn leaves_out(&self, _: &usize, name: &[u8]) -> bool {
            name.ends_with(b".swp")
        }
    }

    #[test]
    fn a_listing_differing_only_by_names_left_out_holds() {
        let names = vec![b"a.c".to_vec(), b"old.swp".to_vec()];
        let listing = Predicate::Listing { dir: b"/p".to_vec(), names };
        let mut fs = MemFs::new();
        fs.write(b"/p/a.c", b"src");
        fs.write(b"/p/new.swp", b"swap");
        assert!(!check(std::slice::from_ref(&listing), &fs, &NoStdin).holds(), "by default");
        let leaving = LeavingOutSwp(&fs);
        assert!(check_one(&listing, &leaving, &NoStdin).is_none(), "old.swp gone, new.swp new");
        fs.write(b"/p/b.c", b"new source");
        let leaving = LeavingOutSwp(&fs);
        let observed = check_one(&listing, &leaving, &NoStdin);
        let only_b = Observed::Names { added: vec![b"b.c".to_vec()], removed: vec![] };
        assert_eq!(observed, Some(only_b), "only the names that count are reported");
    }

    #[test]
    fn content_of_an_output_is_never_relaxed() {
        // `echo more >> log`: the prior content is an input even though log is an output.
        let read = Predicate::Content { path: b"/p/log".to_vec(), hash: Hash::of(b"first") };
        let effect =
            Effect::File { path: b"/p/log".to_vec(), hash: Hash::of(b"firstmore"), mode: 0o644 };
        let e = entry(vec![read], vec![effect]);
        let mut fs = MemFs::new();
        fs.write(b"/p/log", b"firstmore");
        assert!(!check_entry(&e, &fs, &NoStdin).holds());
    }

    struct FileStdin(Hash);
    impl StdinSource for FileStdin {
        fn stdin_hash(&self) -> Option<Hash> {
            Some(self.0)
        }

        fn stdin_kind(&self) -> StdinKind {
            StdinKind::File
        }
    }

    struct KindStdin(StdinKind);
    impl StdinSource for KindStdin {
        fn stdin_hash(&self) -> Option<Hash> {
            None
        }

        fn stdin_kind(&self) -> StdinKind {
            self.0
        }
    }

    #[test]
    fn stdin_is_predicate_compares_the_kind_of_the_current_stdin() {
        let fs = MemFs::new();
        let null = vec![Predicate::StdinIs { kind: StdinKind::Null }];
        assert!(check(&null, &fs, &NoStdin).holds());
        // `cat </dev/null` recorded: not replayed for `cat <file` nor for a here-document.
        assert_eq!(
            check(&null, &fs, &FileStdin(Hash::of(b"hello"))),
            Verdict::Fails { index: 0, observed: Observed::Stdin(StdinKind::File) }
        );
        assert!(!check(&null, &fs, &KindStdin(StdinKind::Stream)).holds());
        assert!(!check(&null, &fs, &KindStdin(StdinKind::Terminal)).holds());
        let tty = vec![Predicate::StdinIs { kind: StdinKind::Terminal }];
        assert!(check(&tty, &fs, &KindStdin(StdinKind::Terminal)).holds());
        assert!(!check(&tty, &fs, &NoStdin).holds());
    }

    #[test]
    fn stdin_predicate_compares_the_current_stdin() {
        let fs = MemFs::new();
        let preds = vec![Predicate::Stdin { hash: Hash::of(b"a") }];
        assert!(check(&preds, &fs, &FileStdin(Hash::of(b"a"))).holds());
        assert!(!check(&preds, &fs, &FileStdin(Hash::of(b"b"))).holds());
        assert!(!check(&preds, &fs, &NoStdin).holds());
    }
}
