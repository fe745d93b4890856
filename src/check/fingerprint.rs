//! The fingerprint fast path: a cache from absolute path to the (fingerprint, content hash) pair
//! seen when the file was last hashed, so that an unchanged file is never read twice (SPEC §5).
//!
//! A fingerprint is what `stat` says about a file's identity and last change: device, inode,
//! size, modification and status-change times in nanoseconds. Equal fingerprints are taken to mean
//! equal content. That is unsound for a file changed twice within one timestamp tick (git's
//! "racy clean" problem): if the first change is hashed and cached, the second leaves the
//! fingerprint as it was. So a fingerprint whose mtime or ctime lies within [`RACY_WINDOW`] of the
//! clock when it is taken is *racy*: the hash is returned but not cached, and the file is read
//! again next time. Two seconds covers the coarsest common timestamp granularity (FAT's).
//!
//! The same cache remembers **absent names**: that a lookup of `name` in directory `dir` found
//! nothing while `dir` had a given fingerprint. A directory's mtime and ctime change whenever an
//! entry is added, removed or renamed in it, so while its fingerprint is unchanged the name is
//! still absent, and a check need not ask the kernel (notes/0010-absent-names.md). Such a record
//! is keyed by `dir`, a NUL byte and `name` (no path contains NUL, so it never meets a file's
//! record) and holds the directory's fingerprint and [`ABSENT`]. The same racy rule applies to
//! the directory's fingerprint; which filesystems keep directory times honestly is the
//! caller's to decide (`check::live`).
//!
//! By the same argument it remembers **listings**: that directory `dir` listed names whose
//! `check::listing::listing_hash` is `h` while it had a given fingerprint, so a
//! check of a listing predicate on an unchanged directory compares hashes instead of reading
//! the directory (notes/0013-listing-records.md). Keyed by `dir` and two NUL bytes (no name is
//! empty, so it is never an absent-name key), holding the fingerprint and `h`.
//!
//! This module reads user files; it never writes them and never touches `.dry/` (the store
//! persists the cache through [`Fingerprints::to_entries`] and reads it back, in place, through
//! [`Fingerprints::over`]).

use model::fingerprint::Fingerprint;
use model::Hash;
use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How close to the present a file's mtime or ctime may be before its fingerprint is racy.
pub const RACY_WINDOW: Duration = Duration::from_secs(2);

/// The "hash" of an absent-name record: no content, no file (see the module comment).
pub const ABSENT: Hash = Hash([0; 32]);

/// The size of the buffer content is streamed through while hashing.
const BUFFER_BYTES: usize = 64 * 1024;

/// Returns the hash of `stored`, what a stored table holds for a path, if the fingerprint it
/// holds with it is `now`: the answer of the cache's fast path, for a cache that has not
/// changed the path.
pub(crate) fn stored_hash(stored: Option<(Fingerprint, Hash)>, now: Fingerprint) -> Option<Hash> {
    stored.filter(|(fp, _)| *fp == now).map(|(_, hash)| hash)
}

/// A table of cached fingerprints as stored, read in place (the store's mapped file): the base
/// that a [`Fingerprints`] reads through and records its changes over.
pub trait CachedFingerprints: Send + Sync {
    /// Returns the fingerprint and hash cached for absolute `path`, if any.
    fn get(&self, path: &[u8]) -> Option<(Fingerprint, Hash)>;
    /// Returns [`CachedFingerprints::get`] of each of `paths`, in order (a table read in place
    /// answers many at once faster than one by one).
    fn get_many(&self, paths: &[&[u8]]) -> Vec<Option<(Fingerprint, Hash)>> {
        paths.iter().map(|p| self.get(p)).collect()
    }
    /// Returns every cached (path, fingerprint, hash).
    fn items(&self) -> Vec<(Vec<u8>, Fingerprint, Hash)>;
    /// Returns the number of cached paths.
    fn len(&self) -> usize;
    /// Reports whether no path is cached.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A cache from absolute path to the fingerprint and content hash last seen there: a stored
/// table read in place, and the changes made since (new hashes, forgotten paths) in memory.
#[derive(Clone)]
pub struct Fingerprints {
    base: Option<Arc<dyn CachedFingerprints>>,
    /// Changes over `base`: `Some` is a new or updated path, `None` a forgotten one.
    changed: HashMap<Vec<u8>, Option<(Fingerprint, Hash)>>,
    /// Whether the cache differs from what it was built from (so the caller must save it).
    dirty: bool,
    /// How many files were read and hashed in full (the fast path did not apply).
    files_hashed: u64,
    /// See [`RACY_WINDOW`]; adjustable so tests can see the cache work on fresh files.
    racy_window_ns: i64,
}

impl std::fmt::Debug for Fingerprints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fingerprints")
            .field("changed", &self.changed.len())
            .field("dirty", &self.dirty)
            .field("files_hashed", &self.files_hashed)
            .finish()
    }
}

impl Default for Fingerprints {
    fn default() -> Self {
        Fingerprints::from(Vec::new())
    }
}

impl From<Vec<(Vec<u8>, Fingerprint, Hash)>> for Fingerprints {
    fn from(entries: Vec<(Vec<u8>, Fingerprint, Hash)>) -> Self {
        let changed = entries.into_iter().map(|(p, f, h)| (p, Some((f, h)))).collect();
        Fingerprints {
            base: None,
            changed,
            dirty: false,
            files_hashed: 0,
            racy_window_ns: window_ns(RACY_WINDOW),
        }
    }
}

impl From<Fingerprints> for Vec<(Vec<u8>, Fingerprint, Hash)> {
    fn from(cache: Fingerprints) -> Self {
        cache.to_entries()
    }
}

impl Fingerprints {
    /// Returns an empty cache.
    pub fn new() -> Fingerprints {
        Fingerprints::default()
    }

    /// Returns a cache that reads through the stored table `base` (nothing is copied out of it
    /// until [`Fingerprints::to_entries`]).
    pub fn over(base: impl CachedFingerprints + 'static) -> Fingerprints {
        Fingerprints { base: Some(Arc::new(base)), ..Fingerprints::default() }
    }

    /// Returns every cached (path, fingerprint, hash), sorted by path, for the store to persist.
    pub fn to_entries(&self) -> Vec<(Vec<u8>, Fingerprint, Hash)> {
        let mut out: Vec<_> = match &self.base {
            Some(base) => {
                base.items().into_iter().filter(|(p, _, _)| !self.changed.contains_key(p)).collect()
            }
            None => Vec::new(),
        };
        out.extend(self.changed.iter().filter_map(|(p, v)| v.map(|(f, h)| (p.clone(), f, h))));
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Reports whether the cache changed since it was built, i.e. whether it is worth saving.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Returns how many files this cache read and hashed in full (fast-path misses).
    pub fn files_hashed(&self) -> u64 {
        self.files_hashed
    }

    /// Returns the number of cached paths.
    pub fn len(&self) -> usize {
        let in_base = |p: &[u8]| self.base.as_ref().is_some_and(|b| b.get(p).is_some());
        let base = self.base.as_ref().map_or(0, |b| b.len());
        self.changed.iter().fold(base, |n, (p, v)| match (v.is_some(), in_base(p)) {
            (true, false) => n + 1,
            (false, true) => n - 1,
            _ => n,
        })
    }

    /// Reports whether no path is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns the cached fingerprint and hash of `key`: the change made since loading, if
    /// any, else the stored table's.
    fn cached(&self, key: &[u8]) -> Option<(Fingerprint, Hash)> {
        match self.changed.get(key) {
            Some(changed) => *changed,
            None => self.base.as_ref().and_then(|b| b.get(key)),
        }
    }

    /// Sets how close to the present a timestamp makes a fingerprint racy (default
    /// [`RACY_WINDOW`]). Only tests and benchmarks have a reason to shrink it.
    pub fn set_racy_window(&mut self, window: Duration) {
        self.racy_window_ns = window_ns(window);
    }

    /// Returns the content hash of the file at absolute `path` (following symlinks), reading it
    /// only if its fingerprint differs from the cached one.
    pub fn hash_path(&mut self, path: &Path) -> io::Result<Hash> {
        match std::fs::metadata(path) {
            Ok(meta) => self.hash_with_fingerprint(path, fingerprint_of(&meta)),
            Err(e) => {
                if e.kind() == io::ErrorKind::NotFound {
                    self.forget(path.as_os_str().as_bytes());
                }
                Err(e)
            }
        }
    }

    /// Returns the content hash of the regular file at absolute `path`, whose fingerprint the
    /// caller has just taken (e.g. from its own `lstat`), reading it only on a cache miss.
    pub fn hash_with_fingerprint(&mut self, path: &Path, now: Fingerprint) -> io::Result<Hash> {
        let key = path.as_os_str().as_bytes();
        if let Some((cached, hash)) = self.cached(key) {
            if cached == now {
                return Ok(hash);
            }
        }
        let mut file = open_regular(path)?;
        self.hash_file(key, &mut file)
    }

    /// Returns the stored table this cache reads through, for lookups made on other threads
    /// (see [`stored_hash`]); it does not change for the life of the cache.
    pub(crate) fn table(&self) -> Option<Arc<dyn CachedFingerprints>> {
        self.base.clone()
    }

    /// Returns the content hash of the regular file at absolute `path` whose fingerprint is
    /// `now`, given that the stored table was found to hold `now` and `stored` for it (by
    /// [`stored_hash`]): as [`Fingerprints::hash_with_fingerprint`] would answer, without its
    /// table lookup unless this cache has changed the path since it was read.
    pub(crate) fn hash_with_stored(
        &mut self,
        path: &Path,
        now: Fingerprint,
        stored: Hash,
    ) -> io::Result<Hash> {
        if self.changed.is_empty() || !self.changed.contains_key(path.as_os_str().as_bytes()) {
            return Ok(stored);
        }
        self.hash_with_fingerprint(path, now)
    }

    /// Returns the content hash of the open regular `file`, cached under absolute path `key`.
    /// Reads from the file's current offset; the caller opens it anew for the whole content.
    pub fn hash_file(&mut self, key: &[u8], file: &mut File) -> io::Result<Hash> {
        let meta = file.metadata()?;
        self.hash_checked(key, file, &meta, |f| read_hash(&mut &*f))
    }

    /// Returns the content hash of the whole open regular `file`, whose metadata the caller has
    /// just taken (`meta`, from `fstat`), cached under absolute path `key`; read with positional
    /// reads (`hash_whole`), so `file`'s offset does not move (the tracer hands the file it
    /// hashed to a tracee, `trace::adopt`).
    pub fn hash_opened(&mut self, key: &[u8], file: &File, meta: &Metadata) -> io::Result<Hash> {
        self.hash_checked(key, file, meta, hash_whole)
    }

    /// [`Fingerprints::hash_file`] of `file`, whose metadata before reading is `meta`, the
    /// content read by `read`.
    fn hash_checked(
        &mut self,
        key: &[u8],
        file: &File,
        meta: &Metadata,
        read: impl FnOnce(&File) -> io::Result<Hash>,
    ) -> io::Result<Hash> {
        if !meta.file_type().is_file() {
            return Err(not_regular(meta));
        }
        let before = fingerprint_of(meta);
        if let Some((cached, hash)) = self.cached(key) {
            if cached == before {
                return Ok(hash);
            }
        }
        let hash = read(file)?;
        self.files_hashed += 1;
        let after = fingerprint_of(&file.metadata()?);
        // A file that changed while it was read, or whose last change is too recent to trust
        // its timestamps, is hashed but not cached: the next check reads it again.
        if before == after && !self.is_racy(&after) {
            if self.cached(key) != Some((after, hash)) {
                self.changed.insert(key.to_vec(), Some((after, hash)));
                self.dirty = true;
            }
        } else {
            self.forget(key);
        }
        Ok(hash)
    }

    /// Reports whether `name` was found absent in directory `dir` (an absolute path) when the
    /// directory had fingerprint `dir_now`, which the caller has just taken: while it has that
    /// fingerprint, the name is still absent.
    pub fn known_absent(&self, dir: &[u8], dir_now: Fingerprint, name: &[u8]) -> bool {
        self.cached(&absent_key(dir, name)) == Some((dir_now, ABSENT))
    }

    /// Remembers that a lookup of `name` in directory `dir` found nothing, `dir_before` being
    /// the directory's fingerprint taken *before* that lookup. Nothing is remembered if that
    /// fingerprint is racy: a name added within the same timestamp tick might not show.
    pub fn note_absent(&mut self, dir: &[u8], dir_before: Fingerprint, name: &[u8]) {
        if self.is_racy(&dir_before) {
            return;
        }
        let key = absent_key(dir, name);
        if self.cached(&key) != Some((dir_before, ABSENT)) {
            self.changed.insert(key, Some((dir_before, ABSENT)));
            self.dirty = true;
        }
    }

    /// Returns the `check::listing::listing_hash` remembered for directory
    /// `dir` (an absolute path) when it had fingerprint `dir_now`, which the caller has just
    /// taken: while it has that fingerprint, it lists the same names.
    pub fn known_listing(&self, dir: &[u8], dir_now: Fingerprint) -> Option<Hash> {
        stored_hash(self.cached(&listing_key(dir)), dir_now)
    }

    /// Remembers that directory `dir` listed names whose hash is `hash`, `dir_before` being the
    /// directory's fingerprint taken *before* it was read. Nothing is remembered if that
    /// fingerprint is racy, as for [`Fingerprints::note_absent`].
    pub fn note_listing(&mut self, dir: &[u8], dir_before: Fingerprint, hash: Hash) {
        if self.is_racy(&dir_before) {
            return;
        }
        let key = listing_key(dir);
        if self.cached(&key) != Some((dir_before, hash)) {
            self.changed.insert(key, Some((dir_before, hash)));
            self.dirty = true;
        }
    }

    /// Drops the cached fingerprint of `key`, if any.
    fn forget(&mut self, key: &[u8]) {
        if self.cached(key).is_some() {
            self.changed.insert(key.to_vec(), None);
            self.dirty = true;
        }
    }

    /// Reports whether `fp` was taken too soon after the file's last change to be trusted.
    fn is_racy(&self, fp: &Fingerprint) -> bool {
        let now_ns = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
            // A clock before 1970 cannot vouch for any timestamp.
            Err(_) => return true,
        };
        let recent = |t: i64| now_ns.saturating_sub(t) < self.racy_window_ns;
        recent(fp.mtime_ns) || recent(fp.ctime_ns)
    }
}

/// The cache key of the listing of directory `dir`: `dir`, NUL, NUL.
fn listing_key(dir: &[u8]) -> Vec<u8> {
    [dir, b"\0\0"].concat()
}

/// The cache key of name `name` absent from directory `dir`: `dir`, NUL, `name`.
fn absent_key(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(dir.len() + 1 + name.len());
    key.extend_from_slice(dir);
    key.push(0);
    key.extend_from_slice(name);
    key
}

/// Returns the fingerprint of a file from its `stat` (or `lstat`) metadata.
pub fn fingerprint_of(meta: &Metadata) -> Fingerprint {
    Fingerprint {
        dev: meta.dev(),
        ino: meta.ino(),
        size_bytes: meta.size(),
        mtime_ns: meta.mtime().saturating_mul(1_000_000_000).saturating_add(meta.mtime_nsec()),
        ctime_ns: meta.ctime().saturating_mul(1_000_000_000).saturating_add(meta.ctime_nsec()),
    }
}

/// Reads `reader` to its end and returns the blake3 hash of what it yielded.
pub fn read_hash(reader: &mut impl Read) -> io::Result<Hash> {
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; BUFFER_BYTES];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Hash(*hasher.finalize().as_bytes()))
}

/// Returns the blake3 hash of the whole of `file`, read with positional reads: its offset,
/// shared with every fd of its open file description, does not move.
pub(crate) fn hash_whole(file: &File) -> io::Result<Hash> {
    read_hash(&mut Positional { file, at: 0 })
}

/// A file read from offset `at` on with positional reads, leaving the file's own offset alone.
struct Positional<'a> {
    file: &'a File,
    at: u64,
}

impl Read for Positional<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let n = self.file.read_at(buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

/// Opens `path` for reading without blocking on a FIFO that took a regular file's place, and
/// without acquiring a controlling terminal.
fn open_regular(path: &Path) -> io::Result<File> {
    let flags = nix::fcntl::OFlag::O_NONBLOCK | nix::fcntl::OFlag::O_NOCTTY;
    std::fs::OpenOptions::new().read(true).custom_flags(flags.bits()).open(path)
}

/// The error for hashing something that is not a regular file: `EISDIR` or `EINVAL`.
fn not_regular(meta: &Metadata) -> io::Error {
    let errno = if meta.is_dir() { nix::errno::Errno::EISDIR } else { nix::errno::Errno::EINVAL };
    io::Error::from_raw_os_error(errno as i32)
}

fn window_ns(window: Duration) -> i64 {
    i64::try_from(window.as_nanos()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::tests::{fingerprint_now, VecTable};

    #[test]
    fn a_stored_hash_answers_until_the_cache_changes_its_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        std::fs::write(&path, b"now").expect("write");
        let key = path.as_os_str().as_bytes().to_vec();
        let now = fingerprint_now(&path);
        // A wrong hash under the file's own fingerprint: only the table can answer it.
        let table = VecTable(vec![(key.clone(), now, Hash::of(b"stored"))]);
        let mut fps = Fingerprints::over(table);
        assert_eq!(
            stored_hash(fps.table().expect("table").get(&key), now),
            Some(Hash::of(b"stored"))
        );
        assert_eq!(
            fps.hash_with_stored(&path, now, Hash::of(b"stored")).expect("hash"),
            Hash::of(b"stored")
        );
        assert_eq!(fps.files_hashed(), 0);
        fps.forget(&key);
        assert_eq!(
            fps.hash_with_stored(&path, now, Hash::of(b"stored")).expect("hash"),
            Hash::of(b"now")
        );
        assert_eq!(fps.files_hashed(), 1);
    }
}
