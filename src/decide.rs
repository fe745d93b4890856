//! The decision shared by `build`, `check`, `why` and nested skipping: which recorded entry of
//! a command, if any, holds now.
#![forbid(unsafe_code)]

use crate::check::LiveFs;
use crate::explain;
use crate::store::{Store, StoreError};
use model::check::{check_views_in_family_deferring, Own, Rules, StdinSource};
use model::entry::ArchivedEntry;
use model::verdict::Verdict;
use model::view::PredicateView;
use model::{CommandKey, Effect, Entry};
use rkyv::rancor;

/// What to do with a requested command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Entry number `index` (into the family's entries) holds: replay it.
    Replay(usize),
    /// Nothing holds: run, for this reason (in words).
    Run(String),
}

/// Checks one entry's predicates against the live filesystem, seen through snapshot `live`,
/// under `rules` (the output rule by default; none with `--strict`).
pub fn verdict(
    entry: &Entry,
    family: &[Entry],
    live: &LiveFs,
    stdin: &dyn StdinSource,
    rules: Rules,
) -> Verdict {
    crate::check::check_entry(entry, family, live, stdin, rules)
}

/// Why an entry whose predicates hold is not replayed when its standard input is one of its
/// outputs.
const STDIN_IS_AN_OUTPUT: &str = "its standard input is one of its own outputs";

/// Whether standard input is a regular file that is also one of `effects` (the same file):
/// then the command reads it after changing it (`tee e < e` truncates `e` before reading it),
/// and its content when the command started, which the `Stdin` predicate checks, is not what
/// it read (the differential fuzzer: `tee e < a; tee e < e` replayed the second `tee` from the
/// first's entry).
fn stdin_is_an_output(effects: &[Effect], stdin: &dyn StdinSource) -> bool {
    stdin.stdin_identity().is_some_and(|id| is_an_output(effects, id))
}

/// Whether the file of identity `id` is, now, one of the regular files of `effects`.
pub(crate) fn is_an_output(effects: &[Effect], id: (u64, u64)) -> bool {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;
    effects.iter().any(|e| {
        matches!(e, Effect::File { .. } | Effect::HardLink { .. })
            && std::fs::symlink_metadata(std::ffi::OsStr::from_bytes(e.path()))
                .is_ok_and(|m| (m.dev(), m.ino()) == id)
    })
}

/// Whether `entry`, uncacheable, may be replayed all the same under `--ttl` (SPEC §1): every
/// reason it was not cached is an input no tracer can check (randomness, the network), and it
/// was recorded less than `ttl_ns` nanoseconds ago.
pub fn within_ttl(entry: &Entry, ttl_ns: Option<u64>) -> bool {
    use model::entry::Uncacheable;
    let Some(ttl) = ttl_ns else { return false };
    let unseen = |u: &Uncacheable| matches!(u, Uncacheable::Random { .. } | Uncacheable::Network);
    let age = crate::record::unix_ns().saturating_sub(entry.recorded_unix_ns);
    !entry.uncacheable.is_empty() && entry.uncacheable.iter().all(unseen) && age < ttl
}

/// How the reason to run starts when the newest entry of the command was not cached.
pub const LAST_RUN_NOT_CACHED: &str = "the last run was not cached";

/// Decides for `key` among its family's `entries` (oldest first): the newest cacheable entry
/// (or, with `ttl_ns`, one uncacheable only for unseen inputs and younger than that: see
/// [`within_ttl`]) with the same key whose predicates all hold wins. `stdin` is the standard input the command
/// would get. Every entry is checked against the one snapshot `live`: one decision, one view
/// of the filesystem.
pub fn decide(
    entries: &[Entry],
    key: &CommandKey,
    root: &[u8],
    live: &LiveFs,
    stdin: &dyn StdinSource,
    (rules, ttl_ns): (Rules, Option<u64>),
) -> Decision {
    let id = key.id();
    let mut first_failure: Option<String> = None;
    let mut uncached: Option<String> = None;
    for (index, entry) in entries.iter().enumerate().rev() {
        if entry.key.id() != id {
            continue;
        }
        if !entry.cacheable() && !within_ttl(entry, ttl_ns) {
            if uncached.is_none() {
                let why: Vec<String> =
                    entry.uncacheable.iter().map(|u| explain::uncacheable(u, root)).collect();
                uncached = Some(format!("{LAST_RUN_NOT_CACHED}: {}", why.join("; ")));
            }
            continue;
        }
        match verdict(entry, entries, live, stdin, rules) {
            Verdict::Holds if stdin_is_an_output(&entry.effects, stdin) => {
                if first_failure.is_none() {
                    first_failure = Some(STDIN_IS_AN_OUTPUT.to_string());
                }
            }
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
/// key is checked without deserializing the family's predicates (only the effects of its runs,
/// for the output rule), and only the entry that holds is copied out. Anything else (that entry
/// is uncacheable or does not hold) falls back to [`decide`] over the family copied out once,
/// so the decision is [`decide`]'s in every case: [`decide`] tries that same entry first, with
/// the same check. A corrupt database is reported to `warn` and is a miss. The caller keeps the
/// snapshot `live`: a replay that follows asks it which outputs are already in place, and
/// what the check looked up is not looked up again.
pub fn decide_stored(
    store: &Store,
    key: &CommandKey,
    root: &[u8],
    live: &LiveFs,
    stdin: &dyn StdinSource,
    rules: (Rules, Option<u64>),
    warn: &mut dyn FnMut(StoreError),
) -> Decided {
    decide_stored_as(store, key, (root, live, stdin, rules), false, warn).0
}

/// [`decide_stored`] for a replay that follows: also returns, for an entry that holds, the
/// newest modification time among the files it read ([`crate::restore::newest_input_ns`],
/// taken from the predicates while they are at hand, through the snapshot that checked them),
/// which the replay gives its outputs no older time than (`restore::clock`).
pub fn decide_stored_for_replay(
    store: &Store,
    key: &CommandKey,
    root: &[u8],
    live: &LiveFs,
    stdin: &dyn StdinSource,
    rules: (Rules, Option<u64>),
    warn: &mut dyn FnMut(StoreError),
) -> (Decided, i64) {
    decide_stored_as(store, key, (root, live, stdin, rules), true, warn)
}

/// [`decide_stored`], with the newest input's time if `times` (else `i64::MIN`).
fn decide_stored_as(
    store: &Store,
    key: &CommandKey,
    (root, live, stdin, (rules, ttl_ns)): (&[u8], &LiveFs, &dyn StdinSource, (Rules, Option<u64>)),
    times: bool,
    warn: &mut dyn FnMut(StoreError),
) -> (Decided, i64) {
    let family = key.family();
    // Inside the map: the newest entry checked in place (with the output rule, against the
    // effects of every run of the family), or else the family copied out once for `decide`.
    let found = store.with_family(&family, |entries| {
        if let Some((entry, index)) = newest_holding(entries, key, live, stdin, rules) {
            let newest = match times {
                true => {
                    let predicates = entries[index].predicates.iter().map(|p| p.view());
                    crate::restore::newest_input_ns(predicates, &entry.effects, live)
                }
                false => i64::MIN,
            };
            return Ok(Found::Holds(Box::new(entry), newest));
        }
        store.copy_family(&family, entries).map(Found::Family)
    });
    let mut entries = match found.and_then(|r| r) {
        Ok(Found::Holds(entry, newest)) => return (Decided::Replay(entry), newest),
        Ok(Found::Family(entries)) => entries,
        Err(e) => {
            warn(e);
            Vec::new()
        }
    };
    match decide(&entries, key, root, live, stdin, (rules, ttl_ns)) {
        Decision::Replay(i) => {
            let mut entry = entries.swap_remove(i);
            let newest = match times {
                true => {
                    let predicates = entry.predicates.iter().map(|p| p.view());
                    crate::restore::newest_input_ns(predicates, &entry.effects, live)
                }
                false => i64::MIN,
            };
            entry.predicates = Vec::new();
            (Decided::Replay(Box::new(entry)), newest)
        }
        Decision::Run(reason) => (Decided::Run(reason), i64::MIN),
    }
}

/// What [`decide_stored`] found inside the map: an entry that holds strictly (copied out without
/// predicates), or the whole family copied out for [`decide`].
enum Found {
    /// The entry, and the newest input's time if asked for.
    Holds(Box<Entry>, i64),
    Family(Vec<Entry>),
}

/// The newest archived entry with `key`'s id, copied out without its predicates, if it is
/// cacheable and holds (output rule included, against the effects of every run of the family).
/// `None` sends the caller to [`decide`]; the entry comes with its number in `entries`.
fn newest_holding(
    entries: &[ArchivedEntry],
    key: &CommandKey,
    live: &LiveFs,
    stdin: &dyn StdinSource,
    rules: Rules,
) -> Option<(Entry, usize)> {
    let id = key.id();
    let newest = entries.iter().rposition(|e| {
        rkyv::deserialize::<CommandKey, rancor::Error>(&e.key).is_ok_and(|k| k.id() == id)
    })?;
    let archived = &entries[newest];
    if !archived.uncacheable.is_empty() {
        return None;
    }
    let effects: Vec<Vec<Effect>> = entries
        .iter()
        .map(|e| rkyv::deserialize::<_, rancor::Error>(&e.effects))
        .collect::<Result<_, _>>()
        .ok()?;
    let since: Vec<u32> = rkyv::deserialize::<_, rancor::Error>(&archived.effects_since).ok()?;
    let own = Own { effects: effects[newest].as_slice(), since: &since };
    let mut siblings: Vec<&[Effect]> = effects.iter().map(Vec::as_slice).collect();
    if rules == Rules::Strict {
        // No run's outputs to be in place: the output rule never applies (the entry's own
        // still guard walks through input symlinks, gap G6).
        siblings.clear();
    }
    let predicates = archived.predicates.iter().map(|p| p.view());
    // Listings last: a big one is read on another thread meanwhile (`check::fed`).
    let listing = |p: &PredicateView<'_, _>| matches!(p, PredicateView::Listing { .. });
    live.checking(predicates, |predicates| {
        check_views_in_family_deferring(predicates, listing, own, &siblings, live, stdin)
    })
    .holds()
    .then(|| without_predicates(archived).ok())
    .flatten()
    .filter(|entry| !stdin_is_an_output(&entry.effects, stdin))
    .map(|entry| (entry, newest))
}

/// Copies an archived entry out of the database, all but its predicates.
fn without_predicates(a: &ArchivedEntry) -> Result<Entry, rancor::Error> {
    use rkyv::deserialize as de;
    Ok(Entry {
        key: de::<_, rancor::Error>(&a.key)?,
        predicates: Vec::new(),
        effects: de::<_, rancor::Error>(&a.effects)?,
        effects_since: de::<_, rancor::Error>(&a.effects_since)?,
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
