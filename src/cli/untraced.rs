//! Running the command without dry: when dry cannot trace it (dry under dry: the process is
//! already traced) or cannot use its cache (a `.dry/` that cannot be created, read or opened),
//! the command still runs exactly as it would alone, after one line on stderr saying why. dry
//! execs it in its own place, so its exit status, signals and terminal are the command's own.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Returns the pid of the process tracing this one (`TracerPid` of `/proc/self/status`), if any.
pub fn tracer_pid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("TracerPid:"))?;
    line.trim().parse().ok().filter(|&pid| pid != 0)
}

/// Prints `dry: WHY; running the command without dry` and execs `cmd` (as execvp(3) would,
/// a script without `#!` by `/bin/sh`). Returns only if the exec failed: the shell's status for
/// that (127 not found, 126 not executable), after a message.
pub fn exec(cmd: &[OsString], why: &str) -> anyhow::Result<i32> {
    eprintln!("dry: {why}; running the command without dry (nothing recorded)");
    let (program, args) = cmd.split_first().ok_or_else(|| anyhow::anyhow!("no command"))?;
    let err = Command::new(program).args(args).exec();
    let err = if err.raw_os_error() == Some(nix::libc::ENOEXEC) {
        Command::new("/bin/sh").arg(program).args(args).exec()
    } else {
        err
    };
    eprintln!("dry: {}: {err}", program.to_string_lossy());
    Ok(if err.kind() == std::io::ErrorKind::NotFound { 127 } else { 126 })
}
