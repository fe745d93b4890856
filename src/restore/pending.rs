//! Which effects a replay still has to write. An output already exactly as the entry leaves it
//! (a regular file with the recorded content and mode, a symlink with the recorded target) is
//! not rewritten: that would cost a copy, a rename and a new inode per output on every no-op
//! replay (35 files for a small make project). What times it is left with is `super::clock`'s
//! business: a top-level replay leaves it as it is when its time is consistent with the
//! inputs and the other outputs (as make's own no-op does, and so its fingerprint stays valid
//! for the next check); a nested replay gives it a fresh time, because there a restored output
//! must look freshly written: make compares a target's mtime with its prerequisites' after a
//! recipe that was replayed.
//! Directories, hard links and removals are always applied (cheap; their modes or identity are
//! not compared here).

use super::confine::path_buf;
use crate::check::LiveFs;
use model::check::effect_in_place;
use model::Effect;

/// An entry's effects split by what a replay has to do with them.
#[derive(Debug, Default)]
pub struct Pending {
    /// Effects to apply, in their order.
    pub apply: Vec<Effect>,
    /// Paths of outputs already in place.
    pub in_place: Vec<Vec<u8>>,
}

/// Splits `effects` into those to apply and the outputs already in place, as snapshot `live`
/// sees them (the decision's own, when a replay follows a check: nothing has changed since).
/// Content is compared through the snapshot's fingerprint cache (one `lstat` for a file whose
/// fingerprint is cached).
pub fn pending(effects: &[Effect], live: &LiveFs) -> Pending {
    let mut out = Pending::default();
    for e in effects {
        let skippable = match e {
            Effect::File { path, .. } => has_its_names(path, effects),
            Effect::Symlink { .. } => true,
            _ => false,
        };
        if skippable && effect_in_place(e, live) {
            out.in_place.push(e.path().to_vec());
        } else {
            out.apply.push(e.clone());
        }
    }
    out
}

/// Whether the regular file at `path` has exactly the names a run leaves it with: itself and
/// the effects that link to it. A run writes the file as a new inode (or in place under names
/// that are all effects, gap G9), so one that shares its inode with another name is not in
/// place even with the right content (the differential fuzzer: `ln b a; sed -i … b` replayed
/// with `b` in place left `a` a link of `b`, where `sed -i` gives `b` a new inode).
fn has_its_names(path: &[u8], effects: &[Effect]) -> bool {
    use std::os::unix::fs::MetadataExt;
    let links = effects
        .iter()
        .filter(|e| matches!(e, Effect::HardLink { to, .. } if to.as_slice() == path))
        .count() as u64;
    std::fs::symlink_metadata(path_buf(path)).is_ok_and(|m| m.nlink() == links + 1)
}
