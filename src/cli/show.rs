//! `dry show`: the recorded entries of a command, or of every command, in words or as JSON.

use super::context::Context;
use crate::check::Fingerprints;
use crate::explain;
use crate::store::Store;
use model::entry::ExitStatus;
use model::{Entry, Hash};
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

/// Show the recorded entries of CMD (or of every command): key, predicates, effects, output
/// sizes, timings, and why a run was not cached.
///
/// Example:
///   dry show -- cc -c main.c -o main.o
///   dry show --json > entries.json
#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    /// Print stable JSON (schema in notes/json.md) instead of text.
    #[arg(long)]
    json: bool,
    /// The command whose entries to show; all commands if omitted.
    #[arg(last = true, value_name = "CMD")]
    cmd: Vec<OsString>,
}

/// Loads a family's entries; a corrupt database is reported and treated as empty.
pub fn load_family_or_warn(store: &Store, family: &Hash) -> Vec<Entry> {
    store.load_family(family).unwrap_or_else(|e| {
        warn_corrupt(e);
        Vec::new()
    })
}

/// Reports a database that cannot be read; the caller treats it as a cache miss.
pub fn warn_corrupt(e: crate::store::StoreError) {
    eprintln!("dry: {e}; treating it as a cache miss");
}

/// Runs `dry show`.
pub fn run(args: ShowArgs) -> anyhow::Result<i32> {
    let ctx = Context::from_process()?;
    let Some(store) = ctx.existing_store()? else {
        if args.json {
            out!("{{\"entries\":[]}}");
        }
        return Ok(0);
    };
    let families = if args.cmd.is_empty() {
        store.families()?
    } else {
        let mut fps = Fingerprints::over(store.load_fingerprints());
        vec![ctx.key(&args.cmd, &[], &mut fps)?.0.family()]
    };
    let root = ctx.project.root.as_os_str().as_bytes();
    let mut all = Vec::new();
    for f in families {
        all.extend(load_family_or_warn(&store, &f));
    }
    if args.json {
        let doc = explain::json::Json::Obj(vec![(
            "entries",
            explain::json::Json::Arr(all.iter().map(explain::json::entry).collect()),
        )]);
        out!("{}", doc.to_text());
        return Ok(0);
    }
    for e in &all {
        print_entry(e, root);
    }
    Ok(0)
}

fn print_entry(e: &Entry, root: &[u8]) {
    let k = &e.key;
    let argv: Vec<String> = k.argv.iter().map(|a| explain::words::escape(a)).collect();
    out!("entry {} (family {})", &k.id().to_hex()[..16], &k.family().to_hex()[..16]);
    out!("  command: {}", argv.join(" "));
    out!("  cwd: {}   exe: {}", explain::words::escape(&k.cwd), explain::words::escape(&k.exe));
    if e.cacheable() {
        out!("  cacheable: yes");
    } else {
        let why: Vec<String> =
            e.uncacheable.iter().map(|u| explain::uncacheable(u, root)).collect();
        out!("  cacheable: no: {}", why.join("; "));
    }
    let exit = match e.exit {
        ExitStatus::Code(c) => format!("exit {c}"),
        ExitStatus::Signal(s) => format!("killed by signal {s}"),
    };
    out!(
        "  {exit}   stdout: {} bytes   stderr: {} bytes   ran: {:.1} ms   recorded: {} s",
        e.stdout.size_bytes,
        e.stderr.size_bytes,
        e.run_ns as f64 / 1e6,
        e.recorded_unix_ns / 1_000_000_000
    );
    out!("  predicates ({}):", e.predicates.len());
    for p in &e.predicates {
        out!("    {}", explain::describe_predicate(p, root));
    }
    out!("  effects ({}):", e.effects.len());
    for x in &e.effects {
        out!("    {}", explain::describe_effect(x, root));
    }
    if !e.unknown_syscalls.is_empty() {
        let u: Vec<String> =
            e.unknown_syscalls.iter().map(|(nr, n)| format!("syscall {nr} x{n}")).collect();
        out!("  not understood: {}", u.join(", "));
    }
}
