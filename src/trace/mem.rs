//! Reading tracee memory with `process_vm_readv`, only while holding a [`Stopped`] guard.
//!
//! Every read is bounded and fallible: a bad pointer, an unmapped page or a string longer than
//! `PATH_MAX` yields `None`, which callers count as a syscall they could not understand. Nothing
//! here writes to a tracee.

use super::stop::Stopped;
use nix::sys::uio::{process_vm_readv, RemoteIoVec};
use std::io::IoSliceMut;

/// Page size on x86_64: reads never cross a page boundary within one chunk, so a string that
/// ends just before an unmapped page is still read.
const PAGE_BYTES: u64 = 4096;
/// The longest path the kernel accepts, NUL included (`PATH_MAX`).
const PATH_MAX_BYTES: usize = 4096;

/// Reads up to `buf.len()` bytes at `addr`; returns how many were read.
fn read_into(stop: &Stopped, addr: u64, buf: &mut [u8]) -> Option<usize> {
    let base = usize::try_from(addr).ok()?;
    let remote = [RemoteIoVec { base, len: buf.len() }];
    let mut local = [IoSliceMut::new(buf)];
    process_vm_readv(stop.pid(), &mut local, &remote).ok()
}

/// Reads exactly `len` bytes at `addr`.
pub(crate) fn read_bytes(stop: &Stopped, addr: u64, len: usize) -> Option<Vec<u8>> {
    if addr == 0 {
        return None;
    }
    let mut buf = vec![0u8; len];
    let mut done = 0;
    while done < len {
        let n = read_into(stop, addr.checked_add(done as u64)?, &mut buf[done..])?;
        if n == 0 {
            return None;
        }
        done += n;
    }
    Some(buf)
}

/// Reads a little-endian `u64` at `addr`.
pub(crate) fn read_u64(stop: &Stopped, addr: u64) -> Option<u64> {
    let bytes = read_bytes(stop, addr, 8)?;
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

/// Reads a little-endian `u32` at `addr`.
pub(crate) fn read_u32(stop: &Stopped, addr: u64) -> Option<u32> {
    let bytes = read_bytes(stop, addr, 4)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

/// Reads a little-endian `u16` at `addr`.
pub(crate) fn read_u16(stop: &Stopped, addr: u64) -> Option<u16> {
    let bytes = read_bytes(stop, addr, 2)?;
    Some(u16::from_le_bytes(bytes.try_into().ok()?))
}

/// Reads a NUL-terminated string at `addr` (without the NUL), in page-bounded chunks, up to
/// `PATH_MAX` bytes.
pub(crate) fn read_cstr(stop: &Stopped, addr: u64) -> Option<Vec<u8>> {
    if addr == 0 {
        return None;
    }
    let mut out = Vec::new();
    let mut at = addr;
    while out.len() < PATH_MAX_BYTES {
        let to_page_end = PAGE_BYTES - at % PAGE_BYTES;
        let want = usize::try_from(to_page_end).ok()?.min(PATH_MAX_BYTES - out.len());
        let mut chunk = vec![0u8; want];
        let n = read_into(stop, at, &mut chunk)?;
        if n == 0 {
            return None;
        }
        if let Some(nul) = chunk[..n].iter().position(|&b| b == 0) {
            out.extend_from_slice(&chunk[..nul]);
            return Some(out);
        }
        out.extend_from_slice(&chunk[..n]);
        at = at.checked_add(n as u64)?;
    }
    None
}
