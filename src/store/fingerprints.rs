//! The fingerprint cache, `.dry/fingerprints`: for each absolute path hashed lately, the
//! fingerprint (dev, ino, size, mtime, ctime) it had and the content hash computed then, so the
//! checker can skip rehashing unchanged files. A cache only: absent or damaged means empty (or,
//! for one damaged record, a miss), and concurrent savers race harmlessly (the last rename wins).
//!
//! The file is read **in place**: mapped, its 32-byte header checked, and nothing else until a
//! path is looked up. A lookup hashes the path into an open-addressing table of record numbers
//! and compares the record's path, then verifies that record's own checksum: opening costs the
//! same for 10 paths as for 1 000 000, and a damaged record is a miss, never a wrong answer
//! about another path. Byte layout in `notes/format.md` ("fingerprints", version 2).
#![forbid(unsafe_code)]

use super::db::{self, FileBytes};
use super::format::FINGERPRINTS_MAGIC as MAGIC;
use super::layout::{self, Durability};
use super::StoreError;
use model::fingerprint::Fingerprint;
use model::Hash;
use std::path::Path;

/// One cached fingerprint: absolute path, fingerprint, content hash.
pub(crate) type Item = (Vec<u8>, Fingerprint, Hash);

/// The version of this file kind (the entry database has its own, `format::VERSION`).
const VERSION: u32 = 3;
const HEADER_LEN: usize = 32;
const RECORD_LEN: usize = 96;
const SLOT_LEN: usize = 4;
/// Offset of a record's checksum, which covers the bytes before it and the record's path.
const CHECK_AT: usize = 88;
/// FNV-1a offset bases: one for the table's hash of a path, one for a record's checksum.
const SLOT_SEED: u64 = 0xcbf2_9ce4_8422_2325;
const CHECK_SEED: u64 = 0x6c62_272e_07bb_0142;

/// The fingerprint cache as stored: a mapped file, validated lazily, one record per lookup.
pub struct FingerprintFile {
    bytes: FileBytes,
    count: usize,
    slots: usize,
    records_at: usize,
    slots_at: usize,
    heap_at: usize,
}

impl std::fmt::Debug for FingerprintFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FingerprintFile").field("count", &self.count).finish()
    }
}

impl FingerprintFile {
    /// The cache with no path in it.
    pub fn empty() -> FingerprintFile {
        FingerprintFile {
            bytes: FileBytes::Empty,
            count: 0,
            slots: 0,
            records_at: 0,
            slots_at: 0,
            heap_at: 0,
        }
    }

    /// Reads a whole cache file held in memory (for fuzzing and tools): empty if its header is
    /// damaged. Never panics, whatever the bytes, here or in later lookups.
    pub fn from_bytes(bytes: Vec<u8>) -> FingerprintFile {
        FingerprintFile::parse(FileBytes::Owned(bytes)).unwrap_or_else(FingerprintFile::empty)
    }

    /// Checks the header of `bytes` (a whole cache file); `None` if it is not a valid one.
    /// Only the header and the file's length are checked here: records are checked when read.
    fn parse(bytes: FileBytes) -> Option<FingerprintFile> {
        let header = bytes.get(..HEADER_LEN)?;
        if header[..8] != MAGIC || u32_at(header, 8)? != VERSION || u32_at(header, 12)? != 0 {
            return None;
        }
        let count = usize::try_from(u32_at(header, 16)?).ok()?;
        let slots = usize::try_from(u32_at(header, 20)?).ok()?;
        let heap_len = usize::try_from(u64_at(header, 24)?).ok()?;
        let table_ok =
            if count == 0 { slots == 0 } else { slots.is_power_of_two() && slots > count };
        if !table_ok {
            return None;
        }
        let records_at = HEADER_LEN;
        let slots_at = records_at.checked_add(count.checked_mul(RECORD_LEN)?)?;
        let heap_at = slots_at.checked_add(slots.checked_mul(SLOT_LEN)?)?;
        if heap_at.checked_add(heap_len)? != bytes.len() {
            return None;
        }
        Some(FingerprintFile { bytes, count, slots, records_at, slots_at, heap_at })
    }

    /// Returns the number of records (damaged ones included).
    pub fn len(&self) -> usize {
        self.count
    }

    /// Reports whether the file holds no record.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Returns the fingerprint and hash cached for `path`; `None` if there is none or its record
    /// is damaged.
    pub fn get(&self, path: &[u8]) -> Option<(Fingerprint, Hash)> {
        if self.slots == 0 {
            return None;
        }
        self.probe(path, slot_of(path, self.slots), 0)
    }

    /// Answers [`FingerprintFile::get`] for each of `paths`, in passes over all of them: the
    /// first slot of each path, then the record each slot names, then the path each record
    /// names (and only then the rest of a probe, for the few that need more than one slot).
    /// One lookup is three loads that each wait for the one before, from a table read in no
    /// order it knows (a check of 100 000 files reads 13 MiB of it); a pass makes the same
    /// load for many paths, which do not wait for each other, so their cache misses overlap.
    pub fn get_many(&self, paths: &[&[u8]]) -> Vec<Option<(Fingerprint, Hash)>> {
        if self.slots == 0 {
            return vec![None; paths.len()];
        }
        let slot_at = |at: usize| u32_at(&self.bytes, self.slots_at + at * SLOT_LEN);
        let firsts: Vec<(usize, Option<u32>)> = paths
            .iter()
            .map(|p| {
                let at = slot_of(p, self.slots);
                (at, slot_at(at))
            })
            .collect();
        let raws: Vec<Option<&[u8]>> = firsts
            .iter()
            .map(|&(_, slot)| match slot {
                Some(slot) if slot != 0 => self.raw(slot as usize - 1).map(|(_, p)| p),
                _ => None,
            })
            .collect();
        let mask = self.slots - 1;
        paths
            .iter()
            .zip(firsts)
            .zip(raws)
            .map(|((path, (at, slot)), raw)| match slot {
                // As `probe` at its first slot: outside the file, or empty, ends the lookup.
                None | Some(0) => None,
                Some(slot) => {
                    let record =
                        raw.filter(|p| p == path).and_then(|_| self.record(slot as usize - 1));
                    match record {
                        Some((_, fp, hash)) => Some((fp, hash)),
                        None => self.probe(path, (at + 1) & mask, 1),
                    }
                }
            })
            .collect()
    }

    /// Looks `path` up from slot `at` on, `tried` slots of the table having been probed.
    fn probe(&self, path: &[u8], mut at: usize, tried: usize) -> Option<(Fingerprint, Hash)> {
        let mask = self.slots - 1;
        // Bounded: a damaged table may have no empty slot.
        for _ in tried..self.slots {
            let slot = u32_at(&self.bytes, self.slots_at + at * SLOT_LEN)? as usize;
            if slot == 0 {
                return None;
            }
            // The path first: a record is checksummed only once it is the one looked for (a
            // damaged one is then passed over, as before; paths are unique, so it is a miss).
            if self.raw(slot - 1).is_some_and(|(_, p)| p == path) {
                if let Some((_, fp, hash)) = self.record(slot - 1) {
                    return Some((fp, hash));
                }
            }
            at = (at + 1) & mask;
        }
        None
    }

    /// Returns every intact record, sorted by path (as written).
    pub fn items(&self) -> Vec<Item> {
        (0..self.count)
            .filter_map(|i| self.record(i))
            .map(|(p, fp, hash)| (p.to_vec(), fp, hash))
            .collect()
    }

    /// Reads record `i`'s bytes and the path they point at, unchecked (`None` if they point
    /// outside the file).
    fn raw(&self, i: usize) -> Option<(&[u8], &[u8])> {
        if i >= self.count {
            return None;
        }
        let at = self.records_at + i * RECORD_LEN;
        let r = self.bytes.get(at..at + RECORD_LEN)?;
        let off = usize::try_from(u64_at(r, 0)?).ok()?;
        let len = usize::try_from(u32_at(r, 8)?).ok()?;
        let start = self.heap_at.checked_add(off)?;
        let path = self.bytes.get(start..start.checked_add(len)?)?;
        Some((r, path))
    }

    /// Reads record `i`: its path, fingerprint and hash, if its checksum holds.
    fn record(&self, i: usize) -> Option<(&[u8], Fingerprint, Hash)> {
        let (r, path) = self.raw(i)?;
        if u64_at(r, CHECK_AT)? != fnv1a(CHECK_SEED, &[&r[..CHECK_AT], path]) {
            return None;
        }
        let fp = Fingerprint {
            dev: u64_at(r, 16)?,
            ino: u64_at(r, 24)?,
            size_bytes: u64_at(r, 32)?,
            mtime_ns: u64_at(r, 40)? as i64,
            ctime_ns: u64_at(r, 48)? as i64,
        };
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&r[56..CHECK_AT]);
        Some((path, fp, Hash(hash)))
    }
}

/// Maps the cache; empty if it is absent or its header is damaged.
pub(crate) fn load(dir: &Path) -> FingerprintFile {
    match db::map_file(&dir.join(layout::FINGERPRINTS)) {
        Ok(Some(bytes)) => FingerprintFile::parse(bytes).unwrap_or_else(FingerprintFile::empty),
        Ok(None) | Err(_) => FingerprintFile::empty(),
    }
}

/// Decodes a whole cache file held in memory; `None` if its header is damaged. Records that
/// are damaged are left out.
#[cfg(test)]
pub(crate) fn decode(file: &[u8]) -> Option<Vec<Item>> {
    FingerprintFile::parse(FileBytes::Owned(file.to_vec())).map(|f| f.items())
}

/// Encodes `items` (unique paths) as a whole cache file.
pub(crate) fn encode(items: &[Item]) -> Vec<u8> {
    let mut items: Vec<&Item> = items.iter().collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    items.dedup_by(|a, b| a.0 == b.0);
    let count = items.len();
    let slots = if count == 0 { 0 } else { (2 * count).next_power_of_two() };
    let heap_len: usize = items.iter().map(|i| i.0.len()).sum();
    let mut out = Vec::with_capacity(HEADER_LEN + count * RECORD_LEN + slots * SLOT_LEN + heap_len);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(count as u32).to_le_bytes());
    out.extend_from_slice(&(slots as u32).to_le_bytes());
    out.extend_from_slice(&(heap_len as u64).to_le_bytes());
    let mut off = 0u64;
    for (path, fp, hash) in &items {
        let mut r = [0u8; RECORD_LEN];
        r[0..8].copy_from_slice(&off.to_le_bytes());
        r[8..12].copy_from_slice(&(path.len() as u32).to_le_bytes());
        r[16..24].copy_from_slice(&fp.dev.to_le_bytes());
        r[24..32].copy_from_slice(&fp.ino.to_le_bytes());
        r[32..40].copy_from_slice(&fp.size_bytes.to_le_bytes());
        r[40..48].copy_from_slice(&fp.mtime_ns.to_le_bytes());
        r[48..56].copy_from_slice(&fp.ctime_ns.to_le_bytes());
        r[56..CHECK_AT].copy_from_slice(&hash.0);
        let check = fnv1a(CHECK_SEED, &[&r[..CHECK_AT], path]);
        r[CHECK_AT..].copy_from_slice(&check.to_le_bytes());
        out.extend_from_slice(&r);
        off += path.len() as u64;
    }
    let mut table = vec![0u32; slots];
    for (i, (path, _, _)) in items.iter().enumerate() {
        let mut at = slot_of(path, slots);
        while table[at] != 0 {
            at = (at + 1) & (slots - 1);
        }
        table[at] = i as u32 + 1;
    }
    for s in table {
        out.extend_from_slice(&s.to_le_bytes());
    }
    for (path, _, _) in &items {
        out.extend_from_slice(path);
    }
    out
}

/// Replaces the cache with `items`. Not fsynced: a cache lost to a power cut costs rehashing.
pub(crate) fn save(dir: &Path, items: &[Item]) -> Result<(), StoreError> {
    // The table has up to twice as many slots as records, numbered in a u32.
    if items.len() > 1 << 30 {
        return Err(StoreError::Io {
            path: dir.join(layout::FINGERPRINTS),
            source: std::io::Error::other("too many fingerprints for one cache file"),
        });
    }
    let path = dir.join(layout::FINGERPRINTS);
    layout::replace(dir, &path, &[&encode(items)], Durability::Cached)
}

/// The first slot to probe for `path` in a table of `slots` (a power of two): the path's FNV-1a
/// with its high bits folded down (splitmix64's finalizer). The multiply of FNV carries low input
/// bits up but never down, and the table indexes by the low bits: without the fold, paths that
/// differ only past the third byte of their last 8-byte word ("…/f000001", "…/f000002") share
/// one slot and each lookup walks them all (version 2's table: 10 s for a 100 000-file check).
pub(super) fn slot_of(path: &[u8], slots: usize) -> usize {
    let mut h = fnv1a(SLOT_SEED, &[path]);
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (h ^ (h >> 31)) as usize & (slots - 1)
}

/// FNV-1a (64-bit), taken a little-endian word of 8 bytes at a time (then byte by byte for the
/// last few), over each of `parts` in turn, from offset basis `seed`. A word at a time is 8×
/// fewer dependent multiplies than the byte-wise original, which matters at 100 000 lookups per
/// check. Each step is a bijection of the state for a given input word, so any one changed word
/// (any changed byte) changes the result. Not a defence against tampering (whoever can write
/// `.dry/` can write entries): it catches accidental damage.
fn fnv1a(seed: u64, parts: &[&[u8]]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = seed;
    for part in parts {
        let mut words = part.chunks_exact(8);
        for w in &mut words {
            h ^= u64::from_le_bytes(w.try_into().expect("8 bytes"));
            h = h.wrapping_mul(PRIME);
        }
        for &b in words.remainder() {
            h ^= u64::from(b);
            h = h.wrapping_mul(PRIME);
        }
    }
    h
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at.checked_add(8)?)?.try_into().ok()?))
}

impl crate::check::CachedFingerprints for FingerprintFile {
    fn get(&self, path: &[u8]) -> Option<(Fingerprint, Hash)> {
        FingerprintFile::get(self, path)
    }

    fn get_many(&self, paths: &[&[u8]]) -> Vec<Option<(Fingerprint, Hash)>> {
        FingerprintFile::get_many(self, paths)
    }

    fn items(&self) -> Vec<Item> {
        FingerprintFile::items(self)
    }

    fn len(&self) -> usize {
        FingerprintFile::len(self)
    }
}
