//! Checking one recorded entry against the live filesystem: the model's `check` over
//! [`LiveFs`], first failing predicate first.

use super::live::LiveFs;
use model::check::StdinSource;
use model::{Entry, Verdict};

/// Checks every predicate of `entry`, in order, against the live filesystem; returns
/// [`Verdict::Holds`] or the first predicate that fails with what was observed instead.
///
/// `family` holds every recorded run of the same command: an output in the state any of them
/// left it does not count as a changed input (the output rule, notes/0005-output-rule.md).
pub fn check_entry(
    entry: &Entry,
    family: &[Entry],
    live: &LiveFs<'_>,
    stdin: &dyn StdinSource,
) -> Verdict {
    model::check::check_in_family(entry, family, live, stdin)
}
