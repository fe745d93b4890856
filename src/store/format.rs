//! The header every archive file of the store starts with: magic, format version, flags, payload
//! length and a blake3 checksum of the payload (byte layout in `notes/format.md`). Pure: encodes
//! and decodes bytes, never touches the filesystem.
//!
//! The header is 64 bytes long so that the payload that follows it (an rkyv archive) starts
//! 16-aligned in a page-aligned memory map, as the archived types require.
#![forbid(unsafe_code)]

use rkyv::util::AlignedVec;

/// Length of the header, in bytes; the payload starts at this offset.
pub(crate) const HEADER_LEN: usize = 64;

/// Alignment of the payload, which rkyv's archived types need (`aligned` feature).
pub(crate) const PAYLOAD_ALIGN: usize = 16;

const _: () = assert!(HEADER_LEN.is_multiple_of(PAYLOAD_ALIGN), "the payload must start aligned");

/// The format version this dry writes, and the only one whose entries it checks and replays.
/// See the version history in `notes/format.md`.
pub(crate) const VERSION: u32 = 4;

/// The oldest format version this dry can still decode (`dry`'s decoder, the golden archives).
/// Version 2 inserted a variant into `Uncacheable` (`StreamStdin`), so a version-1 payload is not
/// a version-2 payload; and a version-1 entry lacks the `StdinIs` and `SameFile` predicates its
/// run may have depended on. Version 3 added `Entry::effects_since` (gap G6); version 4 the
/// `Access` predicate (appended: a version-3 payload decodes as version 4). The store reads
/// older files as damaged: a miss, and the next build replaces the file.
pub(crate) const OLDEST_DECODABLE: u32 = 3;

/// Magic of an entry database file (`entries/<family>`). PNG-style: the high-bit first byte
/// catches 7-bit transfers and the final `\n` catches line-ending conversion.
pub(crate) const ENTRIES_MAGIC: [u8; 8] = *b"\x89DRYENT\n";

/// Magic of the fingerprint cache (`fingerprints`), whose own layout and version follow it
/// (`fingerprints.rs`): it shares the magic scheme, not this header.
pub(crate) const FINGERPRINTS_MAGIC: [u8; 8] = *b"\x89DRYFPC\n";

const VERSION_AT: usize = 8;
const FLAGS_AT: usize = 12;
const LEN_AT: usize = 16;
const SUM_AT: usize = 24;
const RESERVED_AT: usize = 56;

/// Returns the header for `payload` in a file of kind `magic`.
pub(crate) fn encode_header(magic: [u8; 8], payload: &[u8]) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..VERSION_AT].copy_from_slice(&magic);
    h[VERSION_AT..FLAGS_AT].copy_from_slice(&VERSION.to_le_bytes());
    // FLAGS_AT..LEN_AT: flags, none defined.
    h[LEN_AT..SUM_AT].copy_from_slice(&(payload.len() as u64).to_le_bytes());
    h[SUM_AT..RESERVED_AT].copy_from_slice(blake3::hash(payload).as_bytes());
    // RESERVED_AT..HEADER_LEN: reserved, zero.
    h
}

/// Checks the header of `file` (a whole file of kind `magic`, of the current version) and
/// returns its payload, or the reason the file is corrupt.
#[cfg(test)]
pub(crate) fn decode(magic: [u8; 8], file: &[u8]) -> Result<&[u8], String> {
    let (payload, sum) = decode_header(magic, file, VERSION)?;
    verify(payload, &sum)?;
    Ok(payload)
}

/// The payload's checksum, as the header holds it.
pub(crate) type Checksum = [u8; 32];

/// What `decode` checks but for the checksum, which it returns for [`verify`] to compare (a big payload's
/// checksum can then be verified on another thread while the payload is validated). Versions
/// from `oldest` to [`VERSION`] are accepted.
pub(crate) fn decode_header(
    magic: [u8; 8],
    file: &[u8],
    oldest: u32,
) -> Result<(&[u8], Checksum), String> {
    let Some((header, payload)) = file.split_at_checked(HEADER_LEN) else {
        return Err(format!(
            "{} bytes long, shorter than the {HEADER_LEN}-byte header",
            file.len()
        ));
    };
    if header[..VERSION_AT] != magic {
        return Err(format!("bad magic {:02x?}", &header[..VERSION_AT]));
    }
    let version = u32_at(header, VERSION_AT);
    if (OLDEST_DECODABLE..oldest).contains(&version) {
        return Err(format!(
            "format version {version}, older than {VERSION}: its entries may lack predicates \
             that version {VERSION} records, so they are not replayed (notes/format.md)"
        ));
    }
    if !(oldest..=VERSION).contains(&version) {
        return Err(format!("format version {version}, this dry reads version {VERSION}"));
    }
    let flags = u32_at(header, FLAGS_AT);
    if flags != 0 {
        return Err(format!("unknown flags {flags:#x}"));
    }
    if header[RESERVED_AT..].iter().any(|&b| b != 0) {
        return Err("reserved header bytes are not zero".into());
    }
    let len = u64_at(header, LEN_AT);
    if u64::try_from(payload.len()).ok() != Some(len) {
        return Err(format!(
            "header says {len} payload bytes, the file holds {} (truncated or extended)",
            payload.len()
        ));
    }
    let mut sum = [0u8; 32];
    sum.copy_from_slice(&header[SUM_AT..RESERVED_AT]);
    Ok((payload, sum))
}

/// Checks `payload` against the checksum its header holds.
pub(crate) fn verify(payload: &[u8], sum: &Checksum) -> Result<(), String> {
    if blake3::hash(payload).as_bytes() != sum {
        return Err("payload checksum mismatch".into());
    }
    Ok(())
}

/// Returns `payload` if it is aligned for rkyv's archived types, or a copy of it in `buf`. A
/// memory map is page-aligned and the header keeps the payload aligned, so only in-memory callers
/// (tests, fuzzing) pay for the copy.
pub(crate) fn align_payload<'a>(
    payload: &'a [u8],
    buf: &'a mut AlignedVec<PAYLOAD_ALIGN>,
) -> &'a [u8] {
    if (payload.as_ptr() as usize).is_multiple_of(PAYLOAD_ALIGN) {
        payload
    } else {
        buf.clear();
        buf.extend_from_slice(payload);
        buf
    }
}

fn u32_at(header: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&header[at..at + 4]);
    u32::from_le_bytes(b)
}

fn u64_at(header: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&header[at..at + 8]);
    u64::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_names_each_defect() {
        let payload = b"0123456789abcdef";
        let mut file = encode_header(ENTRIES_MAGIC, payload).to_vec();
        file.extend_from_slice(payload);
        assert_eq!(decode(ENTRIES_MAGIC, &file), Ok(&payload[..]));
        assert!(decode(FINGERPRINTS_MAGIC, &file).is_err_and(|w| w.contains("magic")));
        let mut v = file.clone();
        v[VERSION_AT] = 5;
        assert!(decode(ENTRIES_MAGIC, &v).is_err_and(|w| w.contains("version 5")));
        let mut v = file.clone();
        v[VERSION_AT] = 1;
        assert!(decode(ENTRIES_MAGIC, &v).is_err_and(|w| w.contains("version 1")));
        assert!(decode_header(ENTRIES_MAGIC, &v, OLDEST_DECODABLE).is_err(), "not decodable");
        let mut v = file.clone();
        v[FLAGS_AT] = 1;
        assert!(decode(ENTRIES_MAGIC, &v).is_err_and(|w| w.contains("flags")));
        let mut v = file.clone();
        v[RESERVED_AT + 3] = 1;
        assert!(decode(ENTRIES_MAGIC, &v).is_err_and(|w| w.contains("reserved")));
        assert!(decode(ENTRIES_MAGIC, &file[..file.len() - 1]).is_err_and(|w| w.contains("holds")));
        let mut v = file.clone();
        v[HEADER_LEN + 2] ^= 0x40;
        assert!(decode(ENTRIES_MAGIC, &v).is_err_and(|w| w.contains("checksum")));
        assert!(decode(ENTRIES_MAGIC, &[]).is_err_and(|w| w.contains("shorter")));
    }
}
