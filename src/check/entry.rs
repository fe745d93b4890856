//! Checking one recorded entry against the live filesystem: the model's `check` over
//! [`LiveFs`], first failing predicate first.

use super::live::LiveFs;
use model::check::StdinSource;
use model::{Entry, Verdict};

/// Checks every predicate of `entry`, in order, against the live filesystem; returns
/// [`Verdict::Holds`] or the first predicate that fails with what was observed instead.
pub fn check_entry(entry: &Entry, live: &LiveFs<'_>, stdin: &dyn StdinSource) -> Verdict {
    model::check::check(&entry.predicates, live, stdin)
}
