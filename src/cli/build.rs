//! `dry build`: run a command under the tracer and record it, or replay a recorded run.

use super::context::Context;
use crate::check::{DryIgnore, Fingerprints, LiveFs};
use crate::decide::{decide_stored_for_replay, Decided};
use crate::record::{entry_of, unix_ns, Nested, Recorder, Step, StepOutcome};
use crate::restore::{write_all_fd, Replayed};
use crate::store::{LogRecord, Outcome, Store};
use crate::trace::interrupt;
use crate::trace::{Observer as _, Stops};
use anyhow::Context as _;
use model::check::Rules;
use model::entry::{ExitStatus, Uncacheable};
use model::{CommandKey, Entry};
use std::ffi::OsString;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Run CMD, or skip it and replay its recorded outputs, stdout, stderr and exit status if
/// nothing it depended on has changed.
///
/// Example:
///   dry build -- cc -c main.c -o main.o
///   dry build -v -- make -j2
#[derive(clap::Args, Debug)]
pub struct BuildArgs {
    /// Run and re-record even if a recorded entry holds.
    #[arg(long)]
    force: bool,
    /// Print the decision and its reason on stderr (e.g. `dry: ran: src/a.c: content changed`).
    #[arg(short, long)]
    verbose: bool,
    /// Also record a run that exits non-zero (it will be replayed with its status).
    #[arg(long)]
    cache_failures: bool,
    /// Leave environment variable NAME out of the command key (repeatable).
    #[arg(long, value_name = "NAME")]
    env_ignore: Vec<OsString>,
    /// Do not skip nested commands in place (the whole tree is one command).
    #[arg(long)]
    no_nested: bool,
    /// Replay only when every recorded predicate holds exactly as recorded: no relaxation of
    /// any kind (not even for the command's own outputs left as it left them), so a replay
    /// equals a rerun even for commands that read, append to or probe their previous output.
    #[arg(long)]
    strict: bool,
    /// Also replay a run that was not cached only because it read randomness or used the
    /// network (inputs no tracer sees), while it is younger than DURATION (e.g. `10m`, `2h`,
    /// `1d`) and everything else it depended on holds.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    ttl: Option<std::time::Duration>,
    /// The command to run and its arguments.
    #[arg(last = true, required = true, value_name = "CMD")]
    cmd: Vec<OsString>,
}

/// Runs `dry build`.
pub fn run(args: BuildArgs) -> anyhow::Result<i32> {
    let started = Instant::now();
    // dry under dry: this process is already traced, so it cannot trace the command. It runs
    // in dry's place, where the outer dry sees it.
    if let Some(pid) = super::untraced::tracer_pid() {
        let why = format!("already traced by process {pid} (dry under dry?)");
        return super::untraced::exec(&args.cmd, &why);
    }
    let ctx = Context::from_process()?;
    let store = match ctx.store().and_then(|s| s.check_readable().map(|()| s).map_err(Into::into)) {
        Ok(store) => store,
        Err(e) => {
            let why = format!("warning: cannot use the cache: {}", super::exit::chain(&e));
            return super::untraced::exec(&args.cmd, &why);
        }
    };
    let mut fps = Fingerprints::over(store.load_fingerprints());
    let (key, exe) = ctx.key(&args.cmd, &args.env_ignore, &mut fps)?;
    let root = ctx.project.root.as_os_str().as_bytes().to_vec();
    let dryignore = ctx.dryignore(args.strict).map(Arc::new);
    // One snapshot for the decision and the replay that may follow it.
    let live = LiveFs::new(&mut fps).leaving_out(dryignore.as_deref());
    let (decision, newest_input_ns) = if args.force {
        (Decided::Run("--force".to_string()), i64::MIN)
    } else {
        let stdin = crate::check::LiveStdin::new();
        let rules = (rules(args.strict), args.ttl.map(ttl_ns));
        let warn = &mut super::show::warn_corrupt;
        decide_stored_for_replay(&store, &key, &root, &live, &stdin, rules, warn)
    };
    let _ = store.set_last(&key.family());
    let replayed = match &decision {
        Decided::Replay(entry) => {
            Some(replay(&store, entry, &ctx.project.root, &live, newest_input_ns))
        }
        Decided::Run(_) => None,
    };
    drop(live);
    if let (Some(replayed), Decided::Replay(entry)) = (replayed, &decision) {
        match replayed {
            Ok(code) => {
                if args.verbose {
                    eprintln!("dry: replayed: nothing changed");
                }
                save_fingerprints(&store, &fps);
                let _ = store.set_last_steps(&[]);
                log(&store, &key, Outcome::Replayed, started, entry.run_ns);
                return Ok(code);
            }
            Err(e) => eprintln!("dry: cannot replay ({e:#}); running instead"),
        }
    }
    let reason = match decision {
        Decided::Run(r) => r,
        Decided::Replay(_) => "replay failed".to_string(),
    };
    let (entry, status) = match run_and_record(&ctx, &store, &mut fps, key, &exe, &args, dryignore)?
    {
        (Ok(entry), status) => (entry, status),
        (Err(e), status) => {
            // The command ran: its result stands whatever happened to the cache.
            match interrupt::received() {
                Some(_) if args.verbose => eprintln!("dry: ran: not recorded: {e}"),
                Some(_) => {}
                None => {
                    let why = super::exit::chain(&e);
                    eprintln!("dry: warning: the run was not recorded: {why}");
                }
            }
            return Ok(exit_like(status));
        }
    };
    if args.verbose {
        if entry.cacheable() {
            eprintln!("dry: ran: {reason}");
        } else {
            let why: Vec<String> =
                entry.uncacheable.iter().map(|u| crate::explain::uncacheable(u, &root)).collect();
            eprintln!("dry: ran: {reason} (not cached: {})", why.join("; "));
        }
    } else if !reason.starts_with(crate::decide::LAST_RUN_NOT_CACHED) {
        // Once, the first time: a run that will never replay says why, and how it could.
        if let Some(line) = crate::explain::not_cached_line(&entry.uncacheable, &root) {
            eprintln!("dry: {line}");
        }
    }
    save_fingerprints(&store, &fps);
    let outcome = if entry.cacheable() { Outcome::Ran } else { Outcome::Uncached };
    log(&store, &entry.key, outcome, started, 0);
    Ok(exit_like(status))
}

/// The status dry exits with: the command's code, or, when it died of a signal, death by the
/// same signal (128 + N should the signal not end dry).
fn exit_like(status: ExitStatus) -> i32 {
    match status {
        ExitStatus::Code(c) => c,
        ExitStatus::Signal(s) => {
            interrupt::die_like(s);
            128 + s
        }
    }
}

/// `--ttl` in nanoseconds.
fn ttl_ns(ttl: std::time::Duration) -> u64 {
    u64::try_from(ttl.as_nanos()).unwrap_or(u64::MAX)
}

/// The check rules `--strict` asks for.
pub(super) fn rules(strict: bool) -> Rules {
    if strict {
        Rules::Strict
    } else {
        Rules::OutputsIdempotent
    }
}

/// Appends this invocation to the build log; a failure to log is only a warning.
fn log(store: &Store, key: &CommandKey, outcome: Outcome, started: Instant, saved_ns: u64) {
    let record = LogRecord {
        unix_ns: unix_ns(),
        family: key.family(),
        argv: key.argv.clone(),
        outcome,
        run_ns: u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX),
        saved_ns,
    };
    if let Err(e) = store.append_log(&record) {
        eprintln!("dry: warning: {e}");
    }
}

fn save_fingerprints(store: &Store, fps: &Fingerprints) {
    if fps.is_dirty() {
        if let Err(e) = store.save_fingerprints(&fps.to_entries()) {
            eprintln!("dry: warning: {e}");
        }
    }
}

/// Restores a recorded run: outputs first, then stdout and stderr; returns its exit status.
/// `newest_input_ns` is the newest time among the files the entry read (`restore::clock`).
fn replay(
    store: &Store,
    entry: &Entry,
    root: &Path,
    live: &LiveFs,
    newest_input_ns: i64,
) -> anyhow::Result<i32> {
    // Read the streams first: a corrupt object must be found before any file is touched.
    let stdout = store.read_object(&entry.stdout.hash)?;
    let stderr = store.read_object(&entry.stderr.hash)?;
    // Outputs already in place are not rewritten, and keep their times while those are
    // consistent with the inputs and the run's order, as make's own no-op leaves them; the
    // others get fresh times in the run's order (make's clock, notes/transparency.md).
    let pending = crate::restore::pending(&entry.effects, live);
    let (since, keep) = (&entry.effects_since, crate::restore::Keep::Consistent);
    let stamps =
        crate::restore::stamps(&entry.effects, since, &pending.apply, live, newest_input_ns, keep);
    crate::restore::apply(&pending.apply, root, &StoreObjects(store))?;
    crate::restore::stamp(&stamps, root)?;
    // A closed stdout or stderr (EPIPE) is not dry's failure: the command would have met it too.
    let _ = write_all_fd(std::io::stdout().as_fd(), &stdout);
    let _ = write_all_fd(std::io::stderr().as_fd(), &stderr);
    Ok(entry.exit.shell_code())
}

/// The store as the restorer's object source.
pub(super) struct StoreObjects<'a>(pub(super) &'a Store);

impl crate::restore::Objects for StoreObjects<'_> {
    fn copy_object(&self, hash: &model::Hash, dest: &mut std::fs::File) -> Result<u64, String> {
        self.0.copy_object(hash, dest).map_err(|e| e.to_string())
    }

    fn has_object(&self, hash: &model::Hash) -> bool {
        self.0.has_object(hash)
    }
}

/// Runs the command under the tracer, passing stdout and stderr through live while capturing
/// them, and records the run.
fn run_and_record(
    ctx: &Context,
    store: &Store,
    fps: &mut Fingerprints,
    key: CommandKey,
    exe: &crate::key::Exe,
    args: &BuildArgs,
    dryignore: Option<Arc<DryIgnore>>,
) -> anyhow::Result<(anyhow::Result<Entry>, ExitStatus)> {
    // Pipes, or pseudo-terminals where dry's own stdout or stderr is a terminal; one for both
    // where they are one stream (`2>&1`), captured in order as stdout (notes/transparency.md).
    let outputs = crate::trace::terminal::outputs(ctx.streams).context("creating pipes")?;
    if let Some(w) = &outputs.warning {
        eprintln!("dry: warning: {w}");
    }
    // The entry is of what the command saw.
    let key = key.with_streams(outputs.streams);
    let out_r = outputs.stdout_from;
    let tee_out = crate::trace::spawn_without_sigchld(move || tee(out_r, Stream::Out));
    let tee_err = (outputs.stderr_from)
        .map(|err_r| crate::trace::spawn_without_sigchld(move || tee(err_r, Stream::Err)));
    let spawn = crate::trace::Spawn {
        // Exec'd as execvp(3) would: a script's `$0` is this path (the kernel passes it on).
        exe: exe.spelled.clone(),
        argv: args.cmd.clone(),
        env: ctx.env.clone(),
        cwd: ctx.cwd.clone(),
        stdout: outputs.stdout,
        stderr: outputs.stderr,
        stops: if ctx.var("DRY_NO_SECCOMP").is_some() {
            Stops::Every
        } else if ctx.var("DRY_NO_NOTIFY").is_some() {
            Stops::Filtered
        } else {
            Stops::Notified
        },
        nested: !args.no_nested,
    };
    let nested = if args.no_nested {
        None
    } else {
        let dry_exe = std::env::current_exe().context("locating dry's own executable")?;
        Some(Nested {
            store: store.clone(),
            root: ctx.project.root.as_os_str().as_bytes().to_vec(),
            dry_dir: ctx.project.dry_dir.as_os_str().as_bytes().to_vec(),
            dry_exe: dry_exe.as_os_str().as_bytes().to_vec(),
            ignored_env: args.env_ignore.iter().map(|n| n.as_bytes().to_vec()).collect(),
            rules: rules(args.strict),
            ttl_ns: args.ttl.map(ttl_ns),
            force: args.force,
            stdin_id: crate::check::LiveStdin::new().identity(),
            dryignore,
        })
    };
    let started = Instant::now();
    let mut recorder = Recorder::new(fps, nested);
    // What standard input is, and a regular file's content, are inputs whether or not the
    // command reads it with read(2): cat, for one, copies a file with copy_file_range, which is
    // not traced; and an entry recorded with /dev/null must not be replayed for a file or pipe.
    recorder.observe(&[0], crate::check::LiveStdin::new().observation());
    // From now on SIGINT and its kin reach the command and let dry wait for it.
    interrupt::install().context("installing signal handlers")?;
    let status = crate::trace::run(spawn, &mut recorder);
    let run_ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    let stdout = tee_out.join().unwrap_or_default();
    let stderr = tee_err.map(|t| t.join().unwrap_or_default()).unwrap_or_default();
    let status = status?;
    if let Some(sig) = interrupt::received() {
        // Whatever the command did after the signal (a trap, make deleting its target) is not
        // what a run leaves: nothing of it is recorded.
        let e = anyhow::anyhow!("it was interrupted by {sig}");
        return Ok((Err(e), status));
    }
    let recorded = record(ctx, store, recorder, key, (&stdout, &stderr), (status, run_ns), args);
    Ok((recorded, status))
}

/// Lowers and stores a finished run; returns its entry.
fn record(
    ctx: &Context,
    store: &Store,
    mut recorder: Recorder<'_>,
    key: CommandKey,
    (stdout, stderr): (&[u8], &[u8]),
    (status, run_ns): (ExitStatus, u64),
    args: &BuildArgs,
) -> anyhow::Result<Entry> {
    let lowered = recorder.finish(&ctx.project.root, store)?;
    let steps = step_lines(recorder.steps());
    if args.verbose {
        for line in &steps {
            eprintln!("dry: nested: {line}");
        }
    }
    let mut lowered = lowered;
    if !status.success() && !args.cache_failures {
        lowered.uncacheable.push(Uncacheable::Failed);
    }
    let entry = entry_of(key, lowered, stdout, stderr, status, run_ns, store)?;
    // A failed top-level run is not recorded at all unless --cache-failures.
    if !entry.uncacheable.contains(&Uncacheable::Failed) {
        store.record(entry.clone())?;
    }
    // Printed once the run is recorded: a cache that cannot be written says so in one line.
    for w in recorder.warnings() {
        eprintln!("dry: warning: {w}");
    }
    if let Err(e) = store.set_last_steps(&steps) {
        eprintln!("dry: warning: {e}");
    }
    Ok(entry)
}

#[derive(Clone, Copy)]
enum Stream {
    Out,
    Err,
}

/// Copies everything from `from` to dry's own stdout or stderr as it arrives, and returns it.
/// A pseudo-terminal's master ends with `EIO` once the command's side is closed: an end too.
fn tee(from: OwnedFd, to: Stream) -> Vec<u8> {
    let mut file = std::fs::File::from(from);
    let mut all = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    // Once dry's own stream is closed or failing, keep capturing but stop passing through.
    let mut live = true;
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let chunk = &buf[..n];
                if live {
                    let written = match to {
                        Stream::Out => write_all_fd(std::io::stdout().as_fd(), chunk),
                        Stream::Err => write_all_fd(std::io::stderr().as_fd(), chunk),
                    };
                    live = matches!(written, Ok(Replayed::All));
                }
                all.extend_from_slice(chunk);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    all
}

/// What happened to each step of the top-level command, in words: the nested commands it
/// exec'd itself, not the commands those ran within them.
fn step_lines(steps: &[Step]) -> Vec<String> {
    let shown = steps.iter().filter(|s| s.depth == 0);
    shown
        .map(|step| {
            let argv: Vec<String> =
                step.argv.iter().map(|a| crate::explain::words::escape(a)).collect();
            match &step.outcome {
                StepOutcome::Replayed => format!("replayed `{}`", argv.join(" ")),
                StepOutcome::Ran(reason) => format!("ran `{}`: {reason}", argv.join(" ")),
            }
        })
        .collect()
}
