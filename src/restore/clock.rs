//! make's clock: the modification times a replay leaves on the outputs it restores, so that
//! every comparison of times make does after a replay comes out as after the real run
//! (notes/transparency.md, "make's clock").
//!
//! A real run reads its inputs before it writes its outputs, and the files it only reads are
//! older than the run; it writes its outputs one after another. So after a replay:
//!
//! - no output is older than any input: a regular file the run read or stat'ed and did not
//!   change ([`newest_input_ns`]);
//! - the outputs keep the order in which the run first changed them ([`Entry::effects_since`]:
//!   the outputs first changed between the same two kept predicates are one group and get one
//!   time, since their order among themselves is not known, and an equal time is "not newer"
//!   for make either way).
//!
//! The times given are `base + k` ns for the k-th group given one, where `base` is the kernel's
//! coarse clock (the time it stamps a write with), or the newest input or kept output if that
//! is later. Before returning, [`stamp`] waits until the kernel's clock has reached the last
//! time given (at most one tick, and only when a time was given ahead of it), so a file written
//! after the replay is never older than the replay's outputs.
//!
//! A top-level replay ([`Keep::Consistent`]) leaves alone every output that is in place and
//! already consistent: the groups, in the run's order, up to the first that is written by the
//! replay, or older than an input or than a group before it. So a no-op replay stamps nothing
//! and keeps every fingerprint valid. A nested replay ([`Keep::Nothing`]) gives every output a
//! fresh time: make ran the recipe, so the real run would have written them all.
//!
//! [`Entry::effects_since`]: model::Entry::effects_since

use super::confine::{path_buf, Root};
use super::RestoreError;
use crate::check::LiveFs;
use model::fs::FileKind;
use model::view::PredicateView;
use model::Effect;
use nix::sys::stat::{utimensat, UtimensatFlags};
use nix::sys::time::TimeSpec;
use nix::time::{clock_gettime, ClockId};
use std::collections::HashSet;
use std::ops::Deref;
use std::path::Path;
use std::time::Duration;

/// The longest [`stamp`] waits for the kernel's clock to reach the times it gave; a time
/// further ahead comes from a file dated in the future (a wrong clock), not worth waiting for.
const MAX_WAIT: Duration = Duration::from_millis(100);

/// Which outputs already in place a replay may leave with their own times.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Keep {
    /// Those in place and consistent with the inputs and with the outputs before them (a
    /// top-level replay).
    Consistent,
    /// None: every output gets a fresh time (a nested replay).
    Nothing,
}

/// The outputs a replay gives fresh times, in groups in the order the run changed them.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Stamps {
    /// The groups, in order; all paths of one group get one time.
    pub groups: Vec<Vec<Vec<u8>>>,
    /// No time given may be earlier than this (the newest input or kept output), in ns since
    /// the epoch.
    pub floor_ns: i64,
}

/// Returns the newest modification time (ns since the epoch) among the regular files named by
/// the `Content` and `Metadata` predicates among `predicates`, other than the paths of
/// `effects`, as snapshot `live` sees them; `i64::MIN` if none. A file dated after the present
/// (a wrong clock) is left out: a real run does not wait for it either.
pub fn newest_input_ns<'p, N: Deref<Target = [u8]> + 'p>(
    predicates: impl Iterator<Item = PredicateView<'p, N>>,
    effects: &[Effect],
    live: &LiveFs,
) -> i64 {
    let outputs: HashSet<&[u8]> = effects.iter().map(Effect::path).collect();
    let now = clock_ns(ClockId::CLOCK_REALTIME);
    let mut newest = i64::MIN;
    for p in predicates {
        let path = match p {
            PredicateView::Content { path, .. } | PredicateView::Metadata { path, .. } => path,
            _ => continue,
        };
        if outputs.contains(path) || outputs.contains(model::path::normalize(path).as_slice()) {
            continue;
        }
        if let Some((FileKind::Regular, mtime)) = live.kind_and_mtime_ns(path, true) {
            if mtime <= now {
                newest = newest.max(mtime);
            }
        }
    }
    newest
}

/// Groups the regular files and symlinks among `effects` by when the run first changed them
/// (`since`, same order as `effects`; a missing number counts as 0), and returns those a
/// replay gives fresh times: all of them, or with [`Keep::Consistent`] those from the first
/// group that is not in place and consistent on. `written` are the effects the replay writes;
/// `live` is a snapshot taken before it wrote them; `newest_input_ns` is [`newest_input_ns`].
pub fn stamps(
    effects: &[Effect],
    since: &[u32],
    written: &[Effect],
    live: &LiveFs,
    newest_input_ns: i64,
    keep: Keep,
) -> Stamps {
    let mut outputs: Vec<(u32, &[u8])> = effects
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, Effect::File { .. } | Effect::Symlink { .. }))
        .map(|(i, e)| (since.get(i).copied().unwrap_or(0), e.path()))
        .collect();
    // Stable: within a group, the effects' own (path) order.
    outputs.sort_by_key(|(since, _)| *since);
    let mut groups: Vec<Vec<&[u8]>> = Vec::new();
    let mut last: Option<u32> = None;
    for (since, path) in outputs {
        match groups.last_mut() {
            Some(group) if last == Some(since) => group.push(path),
            _ => groups.push(vec![path]),
        }
        last = Some(since);
    }
    let written: HashSet<&[u8]> = written.iter().map(Effect::path).collect();
    let mut floor = newest_input_ns;
    let mut kept = 0;
    if keep == Keep::Consistent {
        for group in &groups {
            let mut newest = floor;
            let consistent = group.iter().all(|path| {
                let mtime = (!written.contains(path))
                    .then(|| live.kind_and_mtime_ns(path, false))
                    .flatten()
                    .map(|(_, mtime)| mtime);
                mtime.inspect(|m| newest = newest.max(*m)).is_some_and(|m| m >= floor)
            });
            if !consistent {
                break;
            }
            floor = newest;
            kept += 1;
        }
    }
    let groups = groups[kept..].iter().map(|g| g.iter().map(|p| p.to_vec()).collect()).collect();
    Stamps { groups, floor_ns: floor }
}

/// Gives the outputs of `stamps` their times (access and modification), group by group, the
/// symlink itself at a last component (never followed), each path below `root` with no
/// symlink among its parents; then waits for the kernel's clock to reach the last time given.
/// Only times change: content, mode and identity are untouched.
pub fn stamp(stamps: &Stamps, root: &Path) -> Result<(), RestoreError> {
    if stamps.groups.is_empty() {
        return Ok(());
    }
    let root = Root::new(root)?;
    let base = clock_ns(ClockId::CLOCK_REALTIME_COARSE).max(stamps.floor_ns);
    let mut last = base;
    for (k, group) in stamps.groups.iter().enumerate() {
        last = base.saturating_add(i64::try_from(k).unwrap_or(i64::MAX));
        let t = TimeSpec::new(last.div_euclid(1_000_000_000), last.rem_euclid(1_000_000_000));
        for path in group {
            root.check_lexical(path, false)?;
            root.check_parents(path, &[])?;
            let flags = UtimensatFlags::NoFollowSymlink;
            utimensat(nix::fcntl::AT_FDCWD, path_buf(path).as_path(), &t, &t, flags).map_err(
                |e| RestoreError::Io {
                    op: "utimensat",
                    path: path_buf(path),
                    source: std::io::Error::from(e),
                },
            )?;
        }
    }
    wait_for_clock(last);
    Ok(())
}

/// Waits until the kernel's coarse clock, which stamps writes, reads at least `ns`, unless
/// that is more than [`MAX_WAIT`] away.
fn wait_for_clock(ns: i64) {
    let ahead = ns.saturating_sub(clock_ns(ClockId::CLOCK_REALTIME_COARSE));
    if ahead <= 0 || ahead > i64::try_from(MAX_WAIT.as_nanos()).unwrap_or(i64::MAX) {
        return;
    }
    while clock_ns(ClockId::CLOCK_REALTIME_COARSE) < ns {
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// The time of clock `id` in ns since the epoch (0 if it cannot be read: then every time
/// given is the floor's).
fn clock_ns(id: ClockId) -> i64 {
    clock_gettime(id)
        .map(|t| t.tv_sec().saturating_mul(1_000_000_000).saturating_add(t.tv_nsec()))
        .unwrap_or(0)
}
