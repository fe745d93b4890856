//! The decision shared by `build`, `check`, `why` and nested skipping: which recorded entry of
//! a command, if any, holds now.
#![forbid(unsafe_code)]

use crate::check::{Fingerprints, LiveFs};
use crate::explain;
use crate::store::{Store, StoreError};
use model::check::StdinSource;
use model::entry::ArchivedEntry;
use model::verdict::Verdict;
use model::{CommandKey, Entry};
use rkyv::rancor;

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

/// What [`decide_stored`] found.
#[derive(Debug)]
pub enum Decided {
    /// This entry holds: replay it. Its `predicates` are left out (empty): a replay needs only
    /// what the run left, and copying a 100 000-input entry's predicates out of the database
    /// would cost more than checking them did.
    Replay(Box<Entry>),
    /// Nothing holds: run, for this reason (in words).
    Run(String),
}

/// [`decide`] for `key` over its family as stored, read in place: the newest entry with the same
/// key is checked without deserializing the family, and only the entry that holds is copied
/// out. Anything else (that entry is uncacheable, or one of its predicates fails strictly and
/// the output rule must be tried) falls back to [`decide`] over the deserialized family, so the
/// decision is [`decide`]'s in every case. A corrupt database is reported to `warn` and is a miss.
pub fn decide_stored(
    store: &Store,
    key: &CommandKey,
    root: &[u8],
    fingerprints: &mut Fingerprints,
    stdin: &dyn StdinSource,
    warn: &mut dyn FnMut(StoreError),
) -> Decided {
    let family = key.family();
    let fast = store.with_family(&family, |entries| {
        let newest = newest_with_id(entries, key)?;
        if !newest.uncacheable.is_empty() {
            return None;
        }
        let live = LiveFs::new(fingerprints);
        live.prefetch(newest.predicates.iter().map(|p| p.view()));
        let predicates = newest.predicates.iter().map(|p| p.view());
        match model::check::check_views(predicates, &live, stdin) {
            Verdict::Holds => without_predicates(newest).ok(),
            Verdict::Fails { .. } => None,
        }
    });
    let entries = match fast {
        Ok(Some(entry)) => return Decided::Replay(Box::new(entry)),
        Ok(None) => store.load_family(&family),
        Err(e) => Err(e),
    };
    let mut entries = entries.unwrap_or_else(|e| {
        warn(e);
        Vec::new()
    });
    match decide(&entries, key, root, fingerprints, stdin) {
        Decision::Replay(i) => {
            let mut entry = entries.swap_remove(i);
            entry.predicates = Vec::new();
            Decided::Replay(Box::new(entry))
        }
        Decision::Run(reason) => Decided::Run(reason),
    }
}

/// The newest archived entry whose key has `key`'s id (the first one [`decide`] would check).
fn newest_with_id<'a>(entries: &'a [ArchivedEntry], key: &CommandKey) -> Option<&'a ArchivedEntry> {
    let id = key.id();
    entries.iter().rev().find(|e| {
        rkyv::deserialize::<CommandKey, rancor::Error>(&e.key).is_ok_and(|k| k.id() == id)
    })
}

/// Copies an archived entry out of the database, all but its predicates.
fn without_predicates(a: &ArchivedEntry) -> Result<Entry, rancor::Error> {
    use rkyv::deserialize as de;
    Ok(Entry {
        key: de::<_, rancor::Error>(&a.key)?,
        predicates: Vec::new(),
        effects: de::<_, rancor::Error>(&a.effects)?,
        stdout: de::<_, rancor::Error>(&a.stdout)?,
        stderr: de::<_, rancor::Error>(&a.stderr)?,
        exit: de::<_, rancor::Error>(&a.exit)?,
        run_ns: a.run_ns.to_native(),
        recorded_unix_ns: a.recorded_unix_ns.to_native(),
        uncacheable: de::<_, rancor::Error>(&a.uncacheable)?,
        unknown_syscalls: de::<_, rancor::Error>(&a.unknown_syscalls)?,
    })
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
