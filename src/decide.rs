//! The decision shared by `build`, `check`, `why` and nested skipping: which recorded entry of
//! a command, if any, holds now.
#![forbid(unsafe_code)]

use crate::check::Fingerprints;
use crate::explain;
use model::check::StdinSource;
use model::verdict::Verdict;
use model::{CommandKey, Entry};

/// What to do with a requested command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Entry number `index` (into the family's entries) holds: replay it.
    Replay(usize),
    /// Nothing holds: run, for this reason (in words).
    Run(String),
}

/// Checks one entry's predicates against the live filesystem.
pub fn verdict(
    entry: &Entry,
    family: &[Entry],
    fingerprints: &mut Fingerprints,
    stdin: &dyn StdinSource,
) -> Verdict {
    let live = crate::check::LiveFs::new(fingerprints);
    crate::check::check_entry(entry, family, &live, stdin)
}

/// Decides for `key` among its family's `entries` (oldest first): the newest cacheable entry
/// with the same key whose predicates all hold wins. `stdin` is the standard input the command
/// would get.
pub fn decide(
    entries: &[Entry],
    key: &CommandKey,
    root: &[u8],
    fingerprints: &mut Fingerprints,
    stdin: &dyn StdinSource,
) -> Decision {
    let id = key.id();
    let mut first_failure: Option<String> = None;
    let mut uncached: Option<String> = None;
    for (index, entry) in entries.iter().enumerate().rev() {
        if entry.key.id() != id {
            continue;
        }
        if !entry.cacheable() {
            if uncached.is_none() {
                let why: Vec<String> =
                    entry.uncacheable.iter().map(|u| explain::uncacheable(u, root)).collect();
                uncached = Some(format!("the last run was not cached: {}", why.join("; ")));
            }
            continue;
        }
        match verdict(entry, entries, fingerprints, stdin) {
            Verdict::Holds => return Decision::Replay(index),
            Verdict::Fails { index: i, observed } => {
                if first_failure.is_none() {
                    if let Some(p) = entry.predicates.get(i) {
                        first_failure = Some(explain::failure(p, &observed, root));
                    }
                }
            }
        }
    }
    if let Some(f) = first_failure {
        return Decision::Run(f);
    }
    if let Some(u) = uncached {
        return Decision::Run(u);
    }
    match entries.last() {
        None => Decision::Run("no entry for this command".to_string()),
        Some(newest) => Decision::Run(
            explain::key_difference(&newest.key, key)
                .unwrap_or_else(|| "no entry for this command".to_string()),
        ),
    }
}
