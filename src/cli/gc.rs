//! `dry gc` and `dry clean`: trim or empty the cache. Never touches the user's files.

use super::context::Context;
use super::exit::UsageError;

/// Trim the cache: keep the newest N entries of each command, drop objects no entry needs,
/// then drop the oldest entries until the cache fits in SIZE.
///
/// Example:
///   dry gc --keep 4 --max-size 500M
#[derive(clap::Args, Debug)]
pub struct GcArgs {
    /// Largest size of the cache: bytes, or with a K, M or G suffix (powers of 1024).
    #[arg(long, value_name = "SIZE")]
    max_size: Option<String>,
    /// Entries to keep per command.
    #[arg(long, value_name = "N")]
    keep: Option<usize>,
}

/// Empty the cache (entries, objects, caches, log). The user's files are not touched.
///
/// Example:
///   dry clean
#[derive(clap::Args, Debug)]
pub struct CleanArgs {}

/// Parses `500M`-style sizes.
fn parse_size(s: &str) -> Result<u64, UsageError> {
    let s = s.trim();
    let (num, mult) = match s.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&s[..s.len() - 1], 1u64 << 10),
        Some('M') => (&s[..s.len() - 1], 1 << 20),
        Some('G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| UsageError(format!("--max-size: not a size: {s}")))
}

/// Runs `dry gc`.
pub fn run_gc(args: GcArgs) -> anyhow::Result<i32> {
    let max = args.max_size.as_deref().map(parse_size).transpose()?;
    let ctx = Context::from_process()?;
    let Some(store) = ctx.existing_store()? else {
        eprintln!("dry: no cache here");
        return Ok(0);
    };
    let r = store.gc(max, args.keep)?;
    eprintln!(
        "dry: removed {} entries, {} objects, {} damaged databases; freed {} bytes; cache is {} bytes",
        r.entries_removed, r.objects_removed, r.damaged_families_removed, r.freed_bytes, r.size_bytes
    );
    Ok(0)
}

/// Runs `dry clean`.
pub fn run_clean(_args: CleanArgs) -> anyhow::Result<i32> {
    let ctx = Context::from_process()?;
    if let Some(store) = ctx.existing_store()? {
        store.clean()?;
        eprintln!("dry: cache emptied");
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_suffixes() {
        assert_eq!(parse_size("500M").ok(), Some(500 << 20));
        assert_eq!(parse_size("12").ok(), Some(12));
        assert_eq!(parse_size("1g").ok(), Some(1 << 30));
        assert!(parse_size("lots").is_err());
    }
}
