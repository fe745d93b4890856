//! `dry gc` and `dry clean`: trim or empty the cache. Never touches the user's files.

use super::context::Context;

/// Trim the cache: keep the newest entries of each command and drop unreferenced objects.
///
/// Example:
///   dry gc --keep 4 --max-size 500M
#[derive(clap::Args, Debug)]
pub struct GcArgs {
    /// Largest size of the cache (bytes, or with a K/M/G suffix).
    #[arg(long, value_name = "SIZE")]
    max_size: Option<String>,
    /// Entries to keep per command.
    #[arg(long, value_name = "N")]
    keep: Option<usize>,
}

/// Empty the cache. The user's files are not touched.
///
/// Example:
///   dry clean
#[derive(clap::Args, Debug)]
pub struct CleanArgs {}

/// Runs `dry gc`.
pub fn run_gc(args: GcArgs) -> anyhow::Result<i32> {
    let _ = (args.max_size, args.keep);
    anyhow::bail!("dry gc is not implemented yet")
}

/// Runs `dry clean`.
pub fn run_clean(_args: CleanArgs) -> anyhow::Result<i32> {
    let ctx = Context::from_process()?;
    let _ = ctx;
    anyhow::bail!("dry clean is not implemented yet")
}
