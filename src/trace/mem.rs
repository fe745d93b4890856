//! Reading and writing tracee memory with `process_vm_readv`/`process_vm_writev`, only while
//! the tracee waits for the tracer: holding a [`Stopped`] guard or a seccomp notification
//! ([`super::notify::Notice`]), both [`Paused`].
//!
//! Every read is bounded and fallible: a bad pointer, an unmapped page or a string longer than
//! `PATH_MAX` (or the limit given) yields `None`, which callers count as a syscall they could not
//! understand. The only write ([`write_bytes`]) serves the exec rewrite of nested mode.

use super::stop::Stopped;
use nix::sys::uio::{process_vm_readv, process_vm_writev, RemoteIoVec};
use nix::unistd::Pid;
use std::io::{IoSlice, IoSliceMut};

/// Proof that a tracee waits for the tracer, so that its registers or memory may be read.
pub(crate) trait Paused {
    /// The waiting thread's id.
    fn pid(&self) -> Pid;
}

impl Paused for Stopped {
    fn pid(&self) -> Pid {
        Stopped::pid(self)
    }
}

/// Page size on x86_64: reads never cross a page boundary within one chunk, so a string that
/// ends just before an unmapped page is still read.
const PAGE_BYTES: u64 = 4096;
/// The longest path the kernel accepts, NUL included (`PATH_MAX`).
const PATH_MAX_BYTES: usize = 4096;

/// Reads up to `buf.len()` bytes at `addr`; returns how many were read.
fn read_into(t: &dyn Paused, addr: u64, buf: &mut [u8]) -> Option<usize> {
    let base = usize::try_from(addr).ok()?;
    let remote = [RemoteIoVec { base, len: buf.len() }];
    let mut local = [IoSliceMut::new(buf)];
    process_vm_readv(t.pid(), &mut local, &remote).ok()
}

/// Reads exactly `len` bytes at `addr`.
pub(crate) fn read_bytes(t: &dyn Paused, addr: u64, len: usize) -> Option<Vec<u8>> {
    if addr == 0 {
        return None;
    }
    let mut buf = vec![0u8; len];
    let mut done = 0;
    while done < len {
        let n = read_into(t, addr.checked_add(done as u64)?, &mut buf[done..])?;
        if n == 0 {
            return None;
        }
        done += n;
    }
    Some(buf)
}

/// Reads a little-endian `u64` at `addr`.
pub(crate) fn read_u64(t: &dyn Paused, addr: u64) -> Option<u64> {
    let bytes = read_bytes(t, addr, 8)?;
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

/// Reads a little-endian `u32` at `addr`.
pub(crate) fn read_u32(t: &dyn Paused, addr: u64) -> Option<u32> {
    let bytes = read_bytes(t, addr, 4)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

/// Reads a little-endian `u16` at `addr`.
pub(crate) fn read_u16(t: &dyn Paused, addr: u64) -> Option<u16> {
    let bytes = read_bytes(t, addr, 2)?;
    Some(u16::from_le_bytes(bytes.try_into().ok()?))
}

/// Reads a NUL-terminated string at `addr` (without the NUL), in page-bounded chunks, up to
/// `PATH_MAX` bytes.
pub(crate) fn read_cstr(t: &dyn Paused, addr: u64) -> Option<Vec<u8>> {
    read_cstr_max(t, addr, PATH_MAX_BYTES)
}

/// Reads a NUL-terminated string at `addr` (without the NUL) of at most `max` bytes, NUL
/// included.
pub(crate) fn read_cstr_max(t: &dyn Paused, addr: u64, max: usize) -> Option<Vec<u8>> {
    if addr == 0 {
        return None;
    }
    let mut out = Vec::new();
    let mut at = addr;
    let mut chunk = [0u8; PAGE_BYTES as usize];
    while out.len() < max {
        let to_page_end = PAGE_BYTES - at % PAGE_BYTES;
        let want = usize::try_from(to_page_end).ok()?.min(max - out.len());
        let buf = &mut chunk[..want];
        let n = read_into(t, at, buf)?;
        if n == 0 {
            return None;
        }
        if let Some(nul) = buf[..n].iter().position(|&b| b == 0) {
            out.extend_from_slice(&buf[..nul]);
            return Some(out);
        }
        out.extend_from_slice(&buf[..n]);
        at = at.checked_add(n as u64)?;
    }
    None
}

/// Reads a NULL-terminated array of pointers at `addr` (an `argv` or `envp`), at most `max`
/// pointers before the NULL. A NULL `addr` is an empty array, as the kernel takes it.
pub(crate) fn read_ptrs(t: &dyn Paused, addr: u64, max: usize) -> Option<Vec<u64>> {
    let mut out = Vec::new();
    if addr == 0 {
        return Some(out);
    }
    let mut at = addr;
    let mut chunk = [0u8; PAGE_BYTES as usize];
    loop {
        // Page-bounded, so that an array ending just before an unmapped page is still read.
        let to_page_end = usize::try_from(PAGE_BYTES - at % PAGE_BYTES).ok()?;
        let want = to_page_end.max(8).min(chunk.len());
        let n = read_into(t, at, &mut chunk[..want])?;
        if n < 8 {
            return None;
        }
        for word in chunk[..n - n % 8].chunks_exact(8) {
            let p = u64::from_le_bytes(word.try_into().ok()?);
            if p == 0 {
                return Some(out);
            }
            if out.len() == max {
                return None;
            }
            out.push(p);
        }
        at = at.checked_add((n - n % 8) as u64)?;
    }
}

/// Writes all of `bytes` at `addr` in the tracee.
pub(crate) fn write_bytes(t: &dyn Paused, addr: u64, bytes: &[u8]) -> Option<()> {
    let mut done = 0;
    while done < bytes.len() {
        let base = usize::try_from(addr.checked_add(done as u64)?).ok()?;
        let remote = [RemoteIoVec { base, len: bytes.len() - done }];
        let local = [IoSlice::new(&bytes[done..])];
        let n = process_vm_writev(t.pid(), &local, &remote).ok()?;
        if n == 0 {
            return None;
        }
        done += n;
    }
    Some(())
}
