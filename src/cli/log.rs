//! `dry log`: recent `dry build` invocations.

use super::context::Context;
use crate::explain::words::escape;

/// Show recent `dry build` invocations: what ran, what was replayed, and the time saved.
///
/// Example:
///   dry log -n 5
#[derive(clap::Args, Debug)]
pub struct LogArgs {
    /// How many invocations to show (newest last).
    #[arg(short = 'n', long, default_value_t = 20)]
    count: usize,
}

/// Runs `dry log`.
pub fn run(args: LogArgs) -> anyhow::Result<i32> {
    let ctx = Context::from_process()?;
    let Some(store) = ctx.existing_store()? else {
        out!("no builds recorded in this project yet");
        return Ok(0);
    };
    let records = store.read_log()?;
    let start = records.len().saturating_sub(args.count);
    let mut saved_ns = 0u64;
    for r in &records[start..] {
        let argv: Vec<String> = r.argv.iter().map(|a| escape(a)).collect();
        out!("{:>9} {:>9.1} ms  {}", r.outcome.word(), r.run_ns as f64 / 1e6, argv.join(" "));
        saved_ns = saved_ns.saturating_add(r.saved_ns);
    }
    out!(
        "{} builds shown; replays saved {:.2} s of running",
        records.len() - start,
        saved_ns as f64 / 1e9
    );
    Ok(0)
}
