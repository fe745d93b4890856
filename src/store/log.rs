//! The build history: the append-only build log (`.dry/log`, one line per `dry build`) and the
//! pointer to the last build (`.dry/last`). Both are text, byte layout in `notes/format.md`.
//!
//! The log is appended without the lock: each record is one `write(2)` on an `O_APPEND` file
//! descriptor, so concurrent builds interleave whole lines. A line torn by a crash has no final
//! newline; the next append starts a new line first, and readers skip any line that does not
//! parse, so a torn line costs that one record and nothing else.
#![forbid(unsafe_code)]

use super::layout::{self, Durability};
use super::StoreError;
use model::Hash;
use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// What one `dry build` did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// The command ran and its entry was recorded.
    Ran,
    /// A cached entry held and its result was replayed.
    Replayed,
    /// The command ran but could not be recorded as replayable (see `Entry::uncacheable`).
    Uncached,
}

impl Outcome {
    /// Returns the word the log file uses.
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Ran => "ran",
            Outcome::Replayed => "replayed",
            Outcome::Uncached => "uncached",
        }
    }

    fn parse(word: &str) -> Option<Outcome> {
        [Outcome::Ran, Outcome::Replayed, Outcome::Uncached].into_iter().find(|o| o.word() == word)
    }
}

/// One line of the build log: one `dry build` invocation.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LogRecord {
    /// When the build finished, in nanoseconds since the Unix epoch.
    pub unix_ns: u64,
    /// The family of the command built.
    pub family: Hash,
    /// The command's argument vector.
    pub argv: Vec<Vec<u8>>,
    /// What happened.
    pub outcome: Outcome,
    /// Wall time of the build, in nanoseconds.
    pub run_ns: u64,
    /// Time saved by replaying instead of running, in nanoseconds (0 unless replayed).
    pub saved_ns: u64,
}

/// The version tag that starts every line of the log.
const LINE_VERSION: &str = "1";

/// Returns the log line for `record`, newline included.
pub(crate) fn encode_line(record: &LogRecord) -> Vec<u8> {
    let mut line = format!(
        "{LINE_VERSION} {} {} {} {} {}",
        record.unix_ns,
        record.family.to_hex(),
        record.outcome.word(),
        record.run_ns,
        record.saved_ns
    )
    .into_bytes();
    for arg in &record.argv {
        line.push(b' ');
        escape(arg, &mut line);
    }
    line.push(b'\n');
    line
}

/// Parses one log line (without its newline); `None` if it is not a well-formed record.
pub(crate) fn parse_line(line: &[u8]) -> Option<LogRecord> {
    let line = std::str::from_utf8(line).ok()?;
    let mut fields = line.split(' ');
    if fields.next()? != LINE_VERSION {
        return None;
    }
    let unix_ns = fields.next()?.parse().ok()?;
    let family = fields.next().and_then(Hash::from_hex)?;
    let outcome = Outcome::parse(fields.next()?)?;
    let run_ns = fields.next()?.parse().ok()?;
    let saved_ns = fields.next()?.parse().ok()?;
    let argv = fields.map(unescape).collect::<Option<Vec<_>>>()?;
    Some(LogRecord { unix_ns, family, argv, outcome, run_ns, saved_ns })
}

/// Appends `record` to the log, starting a new line first if the last one was torn.
pub(crate) fn append(dir: &Path, record: &LogRecord) -> Result<(), StoreError> {
    let path = dir.join(layout::LOG);
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(&path)
        .map_err(StoreError::io(&path))?;
    let len = file.metadata().map_err(StoreError::io(&path))?.len();
    let mut line = Vec::new();
    if len > 0 {
        let mut last = [0u8; 1];
        file.read_exact_at(&mut last, len - 1).map_err(StoreError::io(&path))?;
        if last[0] != b'\n' {
            line.push(b'\n');
        }
    }
    line.extend(encode_line(record));
    // One write: O_APPEND places it at the end as a whole.
    (&file).write_all(&line).map_err(StoreError::io(&path))
}

/// Reads the log, oldest first, skipping lines that do not parse and a final line without its
/// newline (torn by a crash).
pub(crate) fn read(dir: &Path) -> Result<Vec<LogRecord>, StoreError> {
    let path = dir.join(layout::LOG);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::Io { path, source: e }),
    };
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    // The piece after the last newline is empty, or a torn line.
    lines.pop();
    Ok(lines.into_iter().filter_map(parse_line).collect())
}

/// Records `family` as the last build's (replacing the file; not fsynced, a lost pointer only
/// makes `dry why` without a command ask for one).
pub(crate) fn set_last(dir: &Path, family: &Hash) -> Result<(), StoreError> {
    let text = format!("{}\n", family.to_hex());
    replace_unless_same(dir, layout::LAST, text.as_bytes())
}

/// Replaces `dir/name` with `text` (not fsynced), unless it already holds exactly that: a no-op
/// build writes the same last build and the same (empty) steps as the one before, and three
/// syscalls and a rename per file are a measurable part of a 4 ms replay.
fn replace_unless_same(dir: &Path, name: &str, text: &[u8]) -> Result<(), StoreError> {
    let path = dir.join(name);
    if std::fs::read(&path).is_ok_and(|now| now == text) {
        return Ok(());
    }
    layout::replace(dir, &path, &[text], Durability::Cached)
}

/// Returns the last build's family; `None` if absent or damaged.
pub(crate) fn last(dir: &Path) -> Option<Hash> {
    let text = std::fs::read(dir.join(layout::LAST)).ok()?;
    let hex = std::str::from_utf8(text.strip_suffix(b"\n")?).ok()?;
    Hash::from_hex(hex)
}

/// Records the nested steps of the last build, one line of text each (not fsynced: it only
/// feeds `dry why`).
pub(crate) fn set_last_steps(dir: &Path, lines: &[String]) -> Result<(), StoreError> {
    let text: String = lines.iter().map(|l| format!("{}\n", l.replace('\n', " "))).collect();
    replace_unless_same(dir, layout::LAST_STEPS, text.as_bytes())
}

/// Returns the nested steps of the last build (empty if none were recorded).
pub(crate) fn last_steps(dir: &Path) -> Vec<String> {
    match std::fs::read(dir.join(layout::LAST_STEPS)) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).lines().map(str::to_string).collect(),
        Err(_) => Vec::new(),
    }
}

/// Appends `arg` to `out`, escaping `%`, space and every byte outside printable ASCII as `%XX`.
fn escape(arg: &[u8], out: &mut Vec<u8>) {
    for &b in arg {
        if b.is_ascii_graphic() && b != b'%' {
            out.push(b);
        } else {
            out.extend(format!("%{b:02X}").bytes());
        }
    }
}

/// Reverses [`escape`]; `None` on a malformed escape.
fn unescape(field: &str) -> Option<Vec<u8>> {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = char::from(*bytes.get(i + 1)?).to_digit(16)?;
            let lo = char::from(*bytes.get(i + 2)?).to_digit(16)?;
            out.push(u8::try_from(hi * 16 + lo).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}
