//! `dry __replay`: the program a skipped nested command is replaced with (notes/0006-nested.md).
//! It runs as the very process that asked to exec the command, with its pid and descriptors:
//! restores the entry's effects, writes its stdout and stderr to fds 1 and 2 at their current
//! offsets, and exits with its status. If anything goes wrong it execs the original command, so
//! the build goes on as if dry were not there.

use crate::restore::write_all_fd;
use crate::store::Store;
use anyhow::Context as _;
use model::entry::ExitStatus;
use model::Hash;
use std::ffi::OsString;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

/// Internal: replay a recorded nested command in place (exec'd by the tracer, not by users).
///
/// Example (what the tracer execs):
///   dry __replay .dry /project FAMILY KEY RECORDED_NS -- /usr/bin/cc cc -c a.c
#[derive(clap::Args, Debug)]
pub struct ReplayArgs {
    /// The store directory.
    dry_dir: PathBuf,
    /// The project root.
    root: PathBuf,
    /// The command family (hex).
    family: String,
    /// The command key id (hex).
    key: String,
    /// When the entry to replay was recorded (ns since the epoch): identifies it.
    recorded_ns: u64,
    /// The original program and its argv, exec'd if the replay cannot be done.
    #[arg(last = true, required = true)]
    original: Vec<OsString>,
}

/// Runs `dry __replay`.
pub fn run(args: ReplayArgs) -> anyhow::Result<i32> {
    match replay(&args) {
        Ok(status) => finish(status),
        Err(e) => {
            eprintln!("dry: cannot replay ({e:#}); running the command");
            let (exe, argv) = args.original.split_first().context("no original command")?;
            let mut cmd = std::process::Command::new(exe);
            if let Some((argv0, rest)) = argv.split_first() {
                cmd.arg0(argv0).args(rest);
            }
            Err(cmd.exec()).context("exec'ing the original command")
        }
    }
}

fn replay(args: &ReplayArgs) -> anyhow::Result<ExitStatus> {
    let store = Store::open_existing(&args.dry_dir)?.context("no store")?;
    let family = Hash::from_hex(&args.family).context("bad family")?;
    let key = Hash::from_hex(&args.key).context("bad key")?;
    let entries = store.load_family(&family)?;
    let entry = entries
        .iter()
        .find(|e| e.key.id() == key && e.recorded_unix_ns == args.recorded_ns)
        .context("the entry is gone")?;
    let stdout = store.read_object(&entry.stdout.hash)?;
    let stderr = store.read_object(&entry.stderr.hash)?;
    let objects = super::build::StoreObjects(&store);
    // No cache load here (it grows with the project and this runs for every skipped step):
    // hashing the few outputs in place costs less than the copy it saves.
    let mut fps = crate::check::Fingerprints::new();
    let live = crate::check::LiveFs::new(&mut fps);
    let pending = crate::restore::pending(&entry.effects, &live);
    // make ran the recipe: every output gets a fresh time, in the run's order and no older
    // than an input (make's clock, notes/transparency.md).
    let predicates = entry.predicates.iter().map(|p| p.view());
    let newest = crate::restore::newest_input_ns(predicates, &entry.effects, &live);
    let (since, keep) = (&entry.effects_since, crate::restore::Keep::Nothing);
    let stamps = crate::restore::stamps(&entry.effects, since, &pending.apply, &live, newest, keep);
    drop(live);
    crate::restore::apply(&pending.apply, &args.root, &objects)?;
    crate::restore::stamp(&stamps, &args.root)?;
    let _ = write_all_fd(std::io::stdout().as_fd(), &stdout);
    let _ = write_all_fd(std::io::stderr().as_fd(), &stderr);
    Ok(entry.exit)
}

/// Ends the process as the recorded command ended: with its code, or by its signal.
fn finish(status: ExitStatus) -> anyhow::Result<i32> {
    match status {
        ExitStatus::Code(c) => Ok(c),
        ExitStatus::Signal(s) => {
            if let Ok(sig) = nix::sys::signal::Signal::try_from(s) {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::this(), sig);
            }
            Ok(128 + s)
        }
    }
}
