//! The retention policy of a family's entries: which entries a new one makes redundant, and the
//! cap on a family's size. Pure: works on a list of entries, never touches the filesystem.
#![forbid(unsafe_code)]

use model::{Entry, Hash};

/// The most entries a family keeps; the oldest go first.
pub const MAX_ENTRIES_PER_FAMILY: usize = 64;

/// Applies the retention policy to `entries` (oldest first, the newest last) and returns the
/// entries kept, in the same order. Going from newest to oldest, an entry is dropped if a newer
/// kept entry has
/// - the same key id and the same predicates (it would be replayed instead of this one), or
/// - the same key id and both are uncacheable (only the newest failure is worth showing);
///
/// then only the newest [`MAX_ENTRIES_PER_FAMILY`] are kept. The newest entry is always kept.
pub(crate) fn apply(entries: Vec<Entry>) -> Vec<Entry> {
    let ids: Vec<Hash> = entries.iter().map(|e| e.key.id()).collect();
    let mut keep = vec![false; entries.len()];
    let mut kept = 0;
    for i in (0..entries.len()).rev() {
        if kept == MAX_ENTRIES_PER_FAMILY {
            break;
        }
        let redundant = (i + 1..entries.len()).any(|j| {
            keep[j]
                && ids[j] == ids[i]
                && (entries[j].predicates == entries[i].predicates
                    || (!entries[j].cacheable() && !entries[i].cacheable()))
        });
        if !redundant {
            keep[i] = true;
            kept += 1;
        }
    }
    entries.into_iter().zip(keep).filter_map(|(e, k)| k.then_some(e)).collect()
}
