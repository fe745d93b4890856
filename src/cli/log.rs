//! `dry log`: recent `dry build` invocations.

/// Show recent `dry build` invocations: what ran, what was replayed, time saved.
///
/// Example:
///   dry log
#[derive(clap::Args, Debug)]
pub struct LogArgs {
    /// How many invocations to show.
    #[arg(short = 'n', long, default_value_t = 20)]
    count: usize,
}

/// Runs `dry log`.
pub fn run(args: LogArgs) -> anyhow::Result<i32> {
    let _ = args.count;
    anyhow::bail!("dry log is not implemented yet")
}
