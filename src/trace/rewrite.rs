//! The exec rewrite of nested mode (notes/0006-nested.md): at the entry stop of an `execve` or
//! `execveat`, makes the tracee exec another program (dry's replay mode) instead, keeping its
//! pid, its fds and its environment.
//!
//! The new path, its argv strings and a NULL-terminated pointer array are written as one block
//! into the tracee's own stack, below its stack pointer and far below the red zone, then the
//! syscall's arguments are pointed at them. The block must lie in the mapping that holds the
//! stack pointer: a `vfork` child or a `posix_spawn` helper runs on a small borrowed stack whose
//! neighbours belong to the parent, so the mapping is looked up in `/proc/PID/maps` and the
//! block placed closer to the stack pointer when the usual distance would leave it. Whatever is
//! below the stack pointer of a thread in `execve` is dead: on success the memory is replaced,
//! and on failure the caller's frames are all above it.

use super::arch::x86_64 as arch;
use super::mem;
use super::stop::Stopped;
use super::TraceError;

/// How far below the stack pointer the block ends, when the mapping allows.
const GAP_BYTES: u64 = 64 * 1024;
/// The closest the block may end to the stack pointer (the red zone is 128 bytes).
const MIN_GAP_BYTES: u64 = 1024;

/// The block written into the tracee: strings first, then the pointer array, laid out for a
/// given base address.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Block {
    /// The bytes to write at the base.
    pub(crate) bytes: Vec<u8>,
    /// Offset of the path string.
    pub(crate) path: u64,
    /// Offset of the argv pointer array (8-aligned).
    pub(crate) argv: u64,
}

/// The size of the block for `exe` and `argv`; `None` if a string holds a NUL byte (it could
/// not be passed to `execve`).
fn block_len(exe: &[u8], argv: &[Vec<u8>]) -> Option<u64> {
    if exe.contains(&0) || argv.iter().any(|a| a.contains(&0)) {
        return None;
    }
    let strings: usize = exe.len() + 1 + argv.iter().map(|a| a.len() + 1).sum::<usize>();
    let array = strings.next_multiple_of(8) + (argv.len() + 1) * 8;
    u64::try_from(array).ok()
}

/// Lays out the block at `base` (which must be 8-aligned).
pub(crate) fn layout(base: u64, exe: &[u8], argv: &[Vec<u8>]) -> Option<Block> {
    let len = usize::try_from(block_len(exe, argv)?).ok()?;
    let mut bytes = Vec::with_capacity(len);
    bytes.extend_from_slice(exe);
    bytes.push(0);
    let mut offsets = Vec::with_capacity(argv.len());
    for a in argv {
        offsets.push(bytes.len() as u64);
        bytes.extend_from_slice(a);
        bytes.push(0);
    }
    bytes.resize(bytes.len().next_multiple_of(8), 0);
    let array = bytes.len() as u64;
    for off in offsets {
        bytes.extend_from_slice(&base.checked_add(off)?.to_le_bytes());
    }
    bytes.extend_from_slice(&0u64.to_le_bytes());
    Some(Block { bytes, path: base, argv: base.checked_add(array)? })
}

/// Chooses the base of a block of `len` bytes below `sp`, inside the mapping `[start, end)`:
/// 16-aligned, ending [`GAP_BYTES`] below `sp` if it fits, else [`MIN_GAP_BYTES`] below.
pub(crate) fn place(sp: u64, (start, end): (u64, u64), len: u64) -> Option<u64> {
    if !(start..end).contains(&sp) {
        return None;
    }
    [GAP_BYTES, MIN_GAP_BYTES].into_iter().find_map(|gap| {
        let base = sp.checked_sub(gap)?.checked_sub(len)? & !15;
        (base >= start).then_some(base)
    })
}

/// Returns the writable mapping of tracee `pid` that contains `addr`, from `/proc/PID/maps`.
fn mapping(pid: i32, addr: u64) -> Option<(u64, u64)> {
    let maps = std::fs::read(format!("/proc/{pid}/maps")).ok()?;
    maps.split(|&b| b == b'\n').find_map(|line| {
        let mut fields = line.split(|&b| b == b' ');
        let range = fields.next()?;
        let perms = fields.next()?;
        let dash = range.iter().position(|&b| b == b'-')?;
        let hex = |s: &[u8]| u64::from_str_radix(std::str::from_utf8(s).ok()?, 16).ok();
        let (start, end) = (hex(&range[..dash])?, hex(&range[dash + 1..])?);
        let writable = perms.get(1) == Some(&b'w');
        ((start..end).contains(&addr) && writable).then_some((start, end))
    })
}

/// Makes the tracee, stopped at the entry of an exec, exec `exe` with `argv` instead. Returns
/// `Ok(false)` if it could not be done (a NUL byte in a string, no room on the stack, a failed
/// write): the exec then proceeds unchanged.
pub(crate) fn replace_exec(
    stop: &Stopped,
    exe: &[u8],
    argv: &[Vec<u8>],
) -> Result<bool, TraceError> {
    let Some(len) = block_len(exe, argv) else { return Ok(false) };
    let sp = arch::stack_pointer(stop)?;
    let pid = stop.pid().as_raw();
    let base = mapping(pid, sp).and_then(|m| place(sp, m, len));
    let Some(block) = base.and_then(|base| layout(base, exe, argv)) else { return Ok(false) };
    if mem::write_bytes(stop, block.path, &block.bytes).is_none() {
        return Ok(false);
    }
    arch::set_exec_args(stop, block.path, block.argv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_holds_strings_then_an_aligned_null_terminated_array() {
        let argv = vec![b"dry".to_vec(), b"__replay".to_vec()];
        let b = layout(0x1000, b"/bin/dry", &argv).expect("layout");
        assert_eq!(b.path, 0x1000);
        // "/bin/dry\0dry\0__replay\0" is 22 bytes, padded to 24.
        assert_eq!(b.argv, 0x1000 + 24);
        assert_eq!(&b.bytes[..9], b"/bin/dry\0");
        let ptr = |i: usize| {
            u64::from_le_bytes(b.bytes[24 + 8 * i..32 + 8 * i].try_into().expect("8 bytes"))
        };
        assert_eq!((ptr(0), ptr(1), ptr(2)), (0x1000 + 9, 0x1000 + 13, 0));
        assert_eq!(b.bytes.len() as u64, block_len(b"/bin/dry", &argv).expect("len"));
        assert!(layout(0x1000, b"/bin/d\0ry", &argv).is_none());
    }

    #[test]
    fn the_block_stays_inside_the_stack_mapping() {
        let sp = 0x7fff_0000_1234;
        let big = (0x7ffe_0000_0000, 0x7fff_0001_0000);
        let base = place(sp, big, 100).expect("fits far");
        assert_eq!(base % 16, 0);
        assert!(base + 100 <= sp - GAP_BYTES);
        // A posix_spawn-sized stack: the block moves up, just under the stack pointer.
        let small = (sp - 36 * 1024, sp + 512);
        let base = place(sp, small, 100).expect("fits near");
        assert!(base >= small.0 && base + 100 <= sp - MIN_GAP_BYTES);
        assert_eq!(place(sp, (sp - 512, sp + 512), 100), None);
        assert_eq!(place(sp, (0, sp), 100), None);
    }
}
