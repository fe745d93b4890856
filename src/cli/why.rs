//! `dry why`: why a command would run (or ran), entry by entry; or which recorded command
//! produced a file and whether it is up to date.

use super::context::Context;
use super::exit::UsageError;
use crate::check::{Fingerprints, LeftOut};
use crate::decide::{decide, verdict, Decision};
use crate::explain;
use crate::store::Store;
use model::check::Rules;
use model::verdict::Verdict;
use model::{CommandKey, Entry};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

/// Explain why CMD would run (or ran): the first failing predicate of each recorded entry, in
/// words. Without CMD, explain the last `dry build` of this project. With PATH, name the
/// recorded command that produced PATH and say whether it is up to date.
///
/// Example:
///   dry why -- cc -c main.c -o main.o
///   dry why main.o
#[derive(clap::Args, Debug)]
pub struct WhyArgs {
    /// A file: which recorded command produced it.
    path: Option<OsString>,
    /// Leave environment variable NAME out of the command key (repeatable).
    #[arg(long, value_name = "NAME")]
    env_ignore: Vec<OsString>,
    /// Explain as `dry build --strict` decides: no relaxation of any predicate.
    #[arg(long)]
    strict: bool,
    /// The command to explain.
    #[arg(last = true, value_name = "CMD")]
    cmd: Vec<OsString>,
}

/// Runs `dry why`.
pub fn run(args: WhyArgs) -> anyhow::Result<i32> {
    let ctx = Context::from_process()?;
    if args.path.is_some() && !args.cmd.is_empty() {
        return Err(UsageError("give either PATH or -- CMD, not both".into()).into());
    }
    let Some(store) = ctx.existing_store()? else {
        out!("nothing recorded in this project yet");
        return Ok(0);
    };
    let mut fps = Fingerprints::over(store.load_fingerprints());
    if let Some(path) = &args.path {
        return why_path(&ctx, &store, &mut fps, path);
    }
    let (cmd, cwd) = if args.cmd.is_empty() {
        let Some(family) = store.last() else {
            out!("no build recorded in this project yet");
            return Ok(0);
        };
        let entries = super::show::load_family_or_warn(&store, &family);
        let Some(newest) = entries.last() else {
            out!("the last build left no entry (it failed, or its entry was removed)");
            return Ok(0);
        };
        let argv: Vec<OsString> =
            newest.key.argv.iter().map(|a| OsStr::from_bytes(a).to_os_string()).collect();
        (argv, ctx.project.root.join(OsStr::from_bytes(&newest.key.cwd)))
    } else {
        (args.cmd.clone(), ctx.cwd.clone())
    };
    let (key, _) = ctx.key_in(&cmd, &cwd, &args.env_ignore, &mut fps)?;
    let entries = super::show::load_family_or_warn(&store, &key.family());
    let root = ctx.project.root.as_os_str().as_bytes();
    let shown: Vec<String> = cmd.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let dryignore = ctx.dryignore(args.strict);
    let live = crate::check::LiveFs::new(&mut fps).leaving_out(dryignore.as_ref());
    let rules = super::build::rules(args.strict);
    match decide(&entries, &key, root, &live, &crate::check::LiveStdin::new(), (rules, None)) {
        Decision::Replay(i) => {
            out!("{}: up to date: entry {} holds", shown.join(" "), short(&entries[i]))
        }
        Decision::Run(reason) => out!("{}: would run: {reason}", shown.join(" ")),
    }
    drop(live);
    for e in entries.iter().rev() {
        let live = crate::check::LiveFs::new(&mut fps).leaving_out(dryignore.as_ref());
        let (status, left_out) = entry_status(e, &entries, &key, root, &live, rules);
        out!("  entry {}: {status}", short(e));
        for left in left_out {
            out!("    {}", explain::left_out(&left.dir, &left.names, root));
        }
    }
    if args.cmd.is_empty() {
        let steps = store.last_steps();
        if !steps.is_empty() {
            out!("nested steps of the last build:");
            for line in steps {
                out!("  {line}");
            }
        }
    }
    Ok(0)
}

fn short(e: &Entry) -> String {
    e.key.id().to_hex()[..12].to_string()
}

/// One entry's status against the requested key and the live filesystem, and, if it holds,
/// the listings that hold only by leaving out names `.dryignore` ignores.
fn entry_status(
    e: &Entry,
    family: &[Entry],
    key: &CommandKey,
    root: &[u8],
    live: &crate::check::LiveFs<'_>,
    rules: Rules,
) -> (String, Vec<LeftOut>) {
    let status = entry_verdict(e, family, key, root, live, rules);
    if !status.starts_with("holds") {
        return (status, Vec::new());
    }
    // Name the assumption whenever it is what made a predicate hold (one line per directory).
    let left_out = crate::check::left_out_of_listings(&e.predicates, live);
    let status = if left_out.is_empty() {
        status
    } else {
        let all = "holds (every predicate as recorded";
        status.replacen(all, &format!("{all}, but for names .dryignore leaves out of listings"), 1)
    };
    (status, left_out)
}

/// One entry's verdict against the requested key and the live filesystem, in words.
fn entry_verdict(
    e: &Entry,
    family: &[Entry],
    key: &CommandKey,
    root: &[u8],
    live: &crate::check::LiveFs<'_>,
    rules: Rules,
) -> String {
    if let Some(d) = explain::key_difference(&e.key, key) {
        return d;
    }
    if !e.cacheable() {
        let why: Vec<String> =
            e.uncacheable.iter().map(|u| explain::uncacheable(u, root)).collect();
        return format!("not cached: {}", why.join("; "));
    }
    let stdin = crate::check::LiveStdin::new();
    let failure = |v: Verdict| match v {
        Verdict::Holds => None,
        Verdict::Fails { index, observed } => Some(match e.predicates.get(index) {
            Some(p) => explain::failure(p, &observed, root),
            None => "fails".to_string(),
        }),
    };
    if let Some(f) = failure(verdict(e, family, live, &stdin, rules)) {
        return f;
    }
    if rules == Rules::Strict {
        return "holds (strictly: every predicate as recorded)".to_string();
    }
    // Name the assumption whenever it is what made a predicate hold.
    match failure(verdict(e, family, live, &stdin, Rules::Strict)) {
        None => "holds (every predicate as recorded)".to_string(),
        Some(f) => format!(
            "holds by the output rule ({f}, but that is the command's own output, as it left \
             it; the rule assumes a command's own outputs are not its inputs: `--strict` would \
             run it)"
        ),
    }
}

/// `dry why PATH`: the newest recorded run whose effects set PATH.
fn why_path(
    ctx: &Context,
    store: &Store,
    fps: &mut Fingerprints,
    path: &OsStr,
) -> anyhow::Result<i32> {
    let abs =
        model::path::normalize(&model::path::join(ctx.cwd.as_os_str().as_bytes(), path.as_bytes()));
    let root = ctx.project.root.as_os_str().as_bytes();
    let mut best: Option<(Entry, Vec<Entry>)> = None;
    for family in store.families()? {
        let entries = super::show::load_family_or_warn(store, &family);
        for e in entries.iter().rev() {
            if e.effects.iter().any(|x| x.path() == abs.as_slice())
                && best.as_ref().is_none_or(|(b, _)| b.recorded_unix_ns < e.recorded_unix_ns)
            {
                best = Some((e.clone(), entries.clone()));
            }
        }
    }
    let shown = explain::show_path(&abs, root);
    let Some((producer, family)) = best else {
        out!("{shown}: not produced by any recorded command");
        return Ok(1);
    };
    let argv: Vec<String> = producer.key.argv.iter().map(|a| explain::words::escape(a)).collect();
    out!(
        "{shown}: produced by `{}` (in {})",
        argv.join(" "),
        explain::words::escape(&producer.key.cwd)
    );
    // Up to date means: the executable is unchanged and an entry of that key holds now.
    let mut now = producer.key.clone();
    now.exe_hash = fps
        .hash_path(std::path::Path::new(OsStr::from_bytes(&producer.key.exe)))
        .unwrap_or(model::Hash([0; 32]));
    let dryignore = ctx.dryignore(false);
    match decide(
        &family,
        &now,
        root,
        &crate::check::LiveFs::new(fps).leaving_out(dryignore.as_ref()),
        &crate::check::LiveStdin::new(),
        (Rules::default(), None),
    ) {
        Decision::Replay(_) => out!("  up to date"),
        Decision::Run(reason) => out!("  out of date: {reason}"),
    }
    Ok(0)
}
