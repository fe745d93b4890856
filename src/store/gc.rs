//! Trimming and emptying the store (`dry gc`, `dry clean`), under the store's lock. Deletes only
//! files the store owns, by their known names inside `.dry/`; never follows a symlink out of it.
//!
//! Order of deletion: family files are rewritten (durably) before any object is deleted, so a
//! crash in between leaves unreferenced objects (collected next time), never an entry whose
//! objects are gone. Objects and temp files that no entry references are kept while younger than
//! [`GRACE`]: a concurrent `dry build` stores its outputs before it records its entry, without
//! the lock.
#![forbid(unsafe_code)]

use super::layout;
use super::lock;
use super::{db, StoreError};
use model::{Entry, Hash};
use std::collections::HashMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How long an unreferenced object or a temp file is presumed to belong to a build in flight.
pub(crate) const GRACE: Duration = Duration::from_secs(3600);

/// What a garbage collection did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Entries deleted (by `keep`, then by the size limit).
    pub entries_removed: usize,
    /// Damaged family files deleted.
    pub damaged_families_removed: usize,
    /// Objects deleted.
    pub objects_removed: usize,
    /// Stale temp files deleted.
    pub temp_files_removed: usize,
    /// Bytes freed, all files counted.
    pub freed_bytes: u64,
    /// Size of the store afterwards: entry databases and objects, in bytes.
    pub size_bytes: u64,
}

/// One family being trimmed.
struct Family {
    hash: Hash,
    path: PathBuf,
    entries: Vec<Entry>,
    removed: Vec<bool>,
    file_size_bytes: u64,
}

/// One object on disk.
struct Object {
    size_bytes: u64,
    young: bool,
}

/// Trims the store at `dir`; see `Store::gc`. `grace` is [`GRACE`] except in tests.
pub(crate) fn run(
    dir: &Path,
    max_size_bytes: Option<u64>,
    keep: Option<usize>,
    grace: Duration,
) -> Result<GcReport, StoreError> {
    let _lock = lock::acquire(dir)?;
    let now = SystemTime::now();
    let mut report = GcReport::default();
    let mut families = load_families(dir, &mut report)?;
    let objects = list_objects(dir, now, grace)?;
    // refs: every object any loaded entry references, with the number of live entries that do.
    let mut refs: HashMap<Hash, u32> = HashMap::new();
    for e in families.iter().flat_map(|f| &f.entries) {
        for h in unique_objects(e) {
            *refs.entry(h).or_default() += 1;
        }
    }
    if let Some(keep) = keep {
        for f in &mut families {
            for i in 0..f.entries.len().saturating_sub(keep) {
                remove_entry(f, i, &mut refs, &mut report);
            }
        }
    }
    if let Some(max) = max_size_bytes {
        trim_to(max, &mut families, &objects, &mut refs, &mut report);
    }
    let mut size_bytes = rewrite_families(dir, &families, &mut report)?;
    for (hash, object) in &objects {
        let doomed = match refs.get(hash) {
            Some(&n) => n == 0,
            None => !object.young,
        };
        if doomed {
            let path = layout::object_path(dir, hash);
            remove(&path)?;
            report.objects_removed += 1;
            report.freed_bytes += object.size_bytes;
        } else {
            size_bytes += object.size_bytes;
        }
    }
    remove_stale_temps(dir, now, grace, &mut report)?;
    report.size_bytes = size_bytes;
    Ok(report)
}

/// Loads every family; deletes the damaged ones.
fn load_families(dir: &Path, report: &mut GcReport) -> Result<Vec<Family>, StoreError> {
    let mut out = Vec::new();
    for hash in db::families(dir)? {
        let path = layout::family_path(dir, &hash);
        let file_size_bytes = match std::fs::symlink_metadata(&path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(StoreError::Io { path, source: e }),
        };
        match db::read_family(&path, &hash) {
            Ok(entries) => {
                let removed = vec![false; entries.len()];
                out.push(Family { hash, path, entries, removed, file_size_bytes });
            }
            Err(StoreError::Corrupt { .. }) => {
                remove(&path)?;
                report.damaged_families_removed += 1;
                report.freed_bytes += file_size_bytes;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Lists every object file (names that are not objects are left alone).
fn list_objects(
    dir: &Path,
    now: SystemTime,
    grace: Duration,
) -> Result<HashMap<Hash, Object>, StoreError> {
    let mut out = HashMap::new();
    let root = dir.join(layout::OBJECTS);
    for (fan, meta) in list(&root)? {
        if fan.len() != 2 || !meta.is_dir() {
            continue;
        }
        for (rest, meta) in list(&root.join(&fan))? {
            let name = format!("{fan}{rest}");
            let Some(hash) = Hash::from_hex(&name).filter(|h| h.to_hex() == name) else {
                continue;
            };
            if meta.is_file() {
                let young = is_young(&meta, now, grace);
                out.insert(hash, Object { size_bytes: meta.len(), young });
            }
        }
    }
    Ok(out)
}

/// Deletes the oldest entries, across families, until the store fits in `max` bytes. The size
/// of an entry is estimated as its share of its family file.
fn trim_to(
    max: u64,
    families: &mut [Family],
    objects: &HashMap<Hash, Object>,
    refs: &mut HashMap<Hash, u32>,
    report: &mut GcReport,
) {
    let referenced = |refs: &HashMap<Hash, u32>, h: &Hash| refs.get(h).is_some_and(|&n| n > 0);
    let mut size: u64 = families.iter().map(|f| f.file_size_bytes).sum();
    size +=
        objects.iter().filter(|(h, _)| referenced(refs, h)).map(|(_, o)| o.size_bytes).sum::<u64>();
    let mut order: Vec<(u64, usize, usize)> = Vec::new();
    for (fi, f) in families.iter().enumerate() {
        for (i, e) in f.entries.iter().enumerate() {
            if !f.removed[i] {
                order.push((e.recorded_unix_ns, fi, i));
            }
        }
    }
    order.sort_unstable();
    for (_, fi, i) in order {
        if size <= max {
            break;
        }
        let f = &mut families[fi];
        let share = f.file_size_bytes / u64::try_from(f.entries.len()).unwrap_or(u64::MAX).max(1);
        size = size.saturating_sub(share);
        for h in remove_entry(f, i, refs, report) {
            size = size.saturating_sub(objects.get(&h).map_or(0, |o| o.size_bytes));
        }
    }
}

/// Marks entry `i` of `f` removed; returns the objects no live entry references any more.
fn remove_entry(
    f: &mut Family,
    i: usize,
    refs: &mut HashMap<Hash, u32>,
    report: &mut GcReport,
) -> Vec<Hash> {
    if std::mem::replace(&mut f.removed[i], true) {
        return Vec::new();
    }
    report.entries_removed += 1;
    let mut freed = Vec::new();
    for h in unique_objects(&f.entries[i]) {
        if let Some(n) = refs.get_mut(&h) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                freed.push(h);
            }
        }
    }
    freed
}

/// Rewrites the families that lost entries; returns the total size of the family files.
fn rewrite_families(
    dir: &Path,
    families: &[Family],
    report: &mut GcReport,
) -> Result<u64, StoreError> {
    let mut size = 0;
    for f in families {
        if !f.removed.contains(&true) {
            size += f.file_size_bytes;
            continue;
        }
        let kept: Vec<Entry> =
            f.entries.iter().zip(&f.removed).filter(|(_, &r)| !r).map(|(e, _)| e.clone()).collect();
        db::write_family(dir, &f.path, &kept, &f.hash)?;
        let new_size = match std::fs::symlink_metadata(&f.path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == ErrorKind::NotFound => 0,
            Err(e) => return Err(StoreError::Io { path: f.path.clone(), source: e }),
        };
        report.freed_bytes += f.file_size_bytes.saturating_sub(new_size);
        size += new_size;
    }
    Ok(size)
}

/// Deletes temp files older than `grace`.
fn remove_stale_temps(
    dir: &Path,
    now: SystemTime,
    grace: Duration,
    report: &mut GcReport,
) -> Result<(), StoreError> {
    let tmp = dir.join(layout::TMP);
    for (name, meta) in list(&tmp)? {
        if meta.is_file() && !is_young(&meta, now, grace) {
            remove(&tmp.join(name))?;
            report.temp_files_removed += 1;
            report.freed_bytes += meta.len();
        }
    }
    Ok(())
}

/// Empties the store at `dir` under its lock, keeping `dir` and the lock file.
pub(crate) fn clean(dir: &Path) -> Result<(), StoreError> {
    let _lock = lock::acquire(dir)?;
    for sub in [layout::OBJECTS, layout::ENTRIES, layout::TMP] {
        let path = dir.join(sub);
        // remove_dir_all does not follow symlinks: a symlinked subdirectory is unlinked only.
        match std::fs::remove_dir_all(&path) {
            Err(e) if e.kind() != ErrorKind::NotFound => {
                return Err(StoreError::Io { path, source: e });
            }
            _ => {}
        }
    }
    for file in [layout::FINGERPRINTS, layout::LAST, layout::LOG] {
        remove(&dir.join(file))?;
    }
    layout::create(dir)
}

/// Returns the objects `e` references, each once.
fn unique_objects(e: &Entry) -> Vec<Hash> {
    let mut v: Vec<Hash> = e.objects().collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Lists directory `dir` (names that are not UTF-8 are skipped: the store writes none); empty if
/// it does not exist. Metadata does not follow symlinks.
fn list(dir: &Path) -> Result<Vec<(String, std::fs::Metadata)>, StoreError> {
    let listing = match std::fs::read_dir(dir) {
        Ok(l) => l,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::Io { path: dir.to_path_buf(), source: e }),
    };
    let mut out = Vec::new();
    for item in listing {
        let item = item.map_err(StoreError::io(dir))?;
        let Ok(name) = item.file_name().into_string() else { continue };
        match item.metadata() {
            Ok(meta) => out.push((name, meta)),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::Io { path: item.path(), source: e }),
        }
    }
    Ok(out)
}

/// Reports whether a file was modified less than `grace` before `now`.
fn is_young(meta: &std::fs::Metadata, now: SystemTime, grace: Duration) -> bool {
    meta.modified().is_ok_and(|m| now.duration_since(m).map_or(true, |age| age < grace))
}

/// Deletes the file at `path`; a file already gone is fine.
fn remove(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => {
            Err(StoreError::Io { path: path.to_path_buf(), source: e })
        }
        _ => Ok(()),
    }
}
