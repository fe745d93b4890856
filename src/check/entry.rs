//! Checking one recorded entry against the live filesystem: the model's `check` over
//! [`LiveFs`], first failing predicate first.

use super::live::LiveFs;
use model::check::{Rules, StdinSource};
use model::{Entry, Verdict};

/// Checks every predicate of `entry`, in order, against the live filesystem; returns
/// [`Verdict::Holds`] or the first predicate that fails with what was observed instead.
///
/// `family` holds every recorded run of the same command: an output in the state any of them
/// left it does not count as a changed input (the output rule, notes/0005-output-rule.md),
/// unless `rules` is [`Rules::Strict`].
pub fn check_entry(
    entry: &Entry,
    family: &[Entry],
    live: &LiveFs<'_>,
    stdin: &dyn StdinSource,
    rules: Rules,
) -> Verdict {
    model::check::check_with_rules(rules, entry, family, live, stdin)
}
