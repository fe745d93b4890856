//! `.dryignore`: the names that listings leave out (notes/transparency.md, "`.dryignore`").
//!
//! A project may hold a file `.dryignore` at its root, in gitignore syntax, its patterns
//! relative to the root. A check of a `Listing` predicate on a directory inside the root does
//! not count the names the file ignores, added or removed: `touch notes.txt` next to a Python
//! script, an editor's swap file, a scratch directory no longer make the command run again.
//! Nothing else is filtered: a file the command reads, stats or looks up is an input whether
//! or not it is ignored, and a directory outside the root is compared in full.
//!
//! The rules apply at check time only, to the names that differ; listings are recorded in
//! full. So a listing recorded under other rules is compared under the rules of the check, and
//! no change of `.dryignore` can make one hold that these rules would not let hold (what a
//! listing filtered when it was recorded would allow: a name ignored then, gone now, and no
//! longer ignored). Matching is the `ignore` crate's (ripgrep's gitignore matcher). This module
//! reads `.dryignore` and nothing else.

use super::live::LiveFs;
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use model::fs::Fs as _;
use model::resolve::{resolve, ResolveFlags, Resolved};
use model::Predicate;
use std::collections::HashSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The name of the file, at the project root.
pub const DRYIGNORE: &str = ".dryignore";

/// The rules of a project's `.dryignore`: which names listings of its directories leave out.
#[derive(Clone, Debug)]
pub struct DryIgnore {
    /// The project root, as bytes: only paths within it are matched.
    root: Vec<u8>,
    matcher: Gitignore,
}

/// Why a `.dryignore` could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DryIgnoreError {
    /// The file exists but could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What reading it said.
        source: std::io::Error,
    },
    /// A line is not UTF-8 (as for git, patterns are text).
    #[error("{}:{line}: not UTF-8", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
    },
    /// A line is not a pattern the matcher accepts.
    #[error("{}:{line}: {source}", path.display())]
    Pattern {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What the matcher said.
        source: ignore::Error,
    },
    /// The patterns could not be built into one matcher.
    #[error("{}: {source}", path.display())]
    Build {
        /// The file.
        path: PathBuf,
        /// What the matcher said.
        source: ignore::Error,
    },
}

impl DryIgnore {
    /// Reads `.dryignore` at `root` (the project root: absolute, canonical). `None` if there is
    /// no such file or it holds no pattern: then nothing is left out, at the cost of one failed
    /// open.
    pub fn read(root: &Path) -> Result<Option<DryIgnore>, DryIgnoreError> {
        let path = root.join(DRYIGNORE);
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(DryIgnoreError::Read { path, source }),
        };
        let rules = DryIgnore::parse(root, &path, &text)?;
        Ok((!rules.matcher.is_empty()).then_some(rules))
    }

    /// Parses the text of a `.dryignore` (`path` names it in errors) for the project at `root`.
    pub fn parse(root: &Path, path: &Path, text: &[u8]) -> Result<DryIgnore, DryIgnoreError> {
        let mut builder = GitignoreBuilder::new(root);
        for (i, line) in text.split(|&b| b == b'\n').enumerate() {
            let Ok(line) = std::str::from_utf8(line) else {
                return Err(DryIgnoreError::NotUtf8 { path: path.to_path_buf(), line: i + 1 });
            };
            // As git and the `ignore` crate's own reader: a byte order mark is not a pattern.
            let line = if i == 0 { line.trim_start_matches('\u{feff}') } else { line };
            if let Err(source) = builder.add_line(Some(path.to_path_buf()), line) {
                return Err(DryIgnoreError::Pattern {
                    path: path.to_path_buf(),
                    line: i + 1,
                    source,
                });
            }
        }
        let matcher = builder
            .build()
            .map_err(|source| DryIgnoreError::Build { path: path.to_path_buf(), source })?;
        Ok(DryIgnore { root: root.as_os_str().as_bytes().to_vec(), matcher })
    }

    /// Reports whether the rules may leave out names of the directory at absolute canonical
    /// `dir`: whether it is the root or below it.
    pub fn covers(&self, dir: &[u8]) -> bool {
        model::path::is_within(dir, &self.root)
    }

    /// Reports whether listings of the directory at absolute canonical `dir` leave out `name`.
    /// `is_dir` says whether the name is a directory now, `None` if it is not there: a name no
    /// longer there is left out only if it is ignored whatever its kind (a pattern `tmp/`
    /// ignores a directory `tmp`, not a file of that name). A name in an ignored directory is
    /// ignored too (gitignore: git does not look inside one).
    pub fn leaves_out(&self, dir: &[u8], name: &[u8], is_dir: Option<bool>) -> bool {
        let Some(rel) = model::path::relative_to(dir, &self.root) else { return false };
        let path = if rel == b"." { name.to_vec() } else { [rel, b"/", name].concat() };
        // Relative to the root, as the matcher takes it (a path with no common prefix with
        // the root is matched as relative; `matched_path_or_any_parents` asserts it has no
        // root of its own, which a relative path never has).
        let path = Path::new(OsStr::from_bytes(&path));
        let ignored =
            |is_dir: bool| self.matcher.matched_path_or_any_parents(path, is_dir).is_ignore();
        match is_dir {
            Some(is_dir) => ignored(is_dir),
            None => ignored(false) && ignored(true),
        }
    }
}

/// The names one listing holds by leaving out: those that differ from the recorded listing now
/// and that the rules ignore (what `dry why` says of an entry that holds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeftOut {
    /// The directory, as the predicate spells it.
    pub dir: Vec<u8>,
    /// The names left out that are there now and were not, or were and are not, sorted.
    pub names: Vec<Vec<u8>>,
}

/// Returns, for each listing among `predicates` that differs from its directory now only by
/// names `live` leaves out (or by those among others), those names. Empty, at no cost, when
/// `live` leaves nothing out.
pub fn left_out_of_listings(predicates: &[Predicate], live: &LiveFs<'_>) -> Vec<LeftOut> {
    if live.dryignore().is_none() {
        return Vec::new();
    }
    let mut out: Vec<LeftOut> = Vec::new();
    for p in predicates {
        let Predicate::Listing { dir, names } = p else { continue };
        if out.iter().any(|o| o.dir == *dir) {
            continue;
        }
        let Ok(Resolved::Node(node)) = resolve(live, b"/", dir, ResolveFlags::DIRECTORY) else {
            continue;
        };
        let Ok(now) = live.list(&node) else { continue };
        let was: HashSet<&[u8]> = names.iter().map(Vec::as_slice).collect();
        let current: HashSet<&[u8]> = now.iter().map(Vec::as_slice).collect();
        let added = now.iter().filter(|n| !was.contains(n.as_slice()));
        let removed = names.iter().filter(|n| !current.contains(n.as_slice()));
        let mut left: Vec<Vec<u8>> =
            added.chain(removed).filter(|n| live.leaves_out(&node, n)).cloned().collect();
        left.sort();
        if !left.is_empty() {
            out.push(LeftOut { dir: dir.clone(), names: left });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> DryIgnore {
        let root = Path::new("/p");
        DryIgnore::parse(root, &root.join(DRYIGNORE), text.as_bytes()).expect("rules")
    }

    #[test]
    fn patterns_are_gitignore_patterns_relative_to_the_root() {
        let r = rules("# a comment\n*.txt\n.*.swp\ntmp/\n/top\n!keep.txt\nbuild/\n");
        let out =
            |dir: &str, name: &str, is_dir| r.leaves_out(dir.as_bytes(), name.as_bytes(), is_dir);
        assert!(out("/p", "notes.txt", Some(false)));
        assert!(
            out("/p/src", "notes.txt", Some(false)),
            "a pattern without / matches at any depth"
        );
        assert!(!out("/p", "keep.txt", Some(false)), "negated");
        assert!(out("/p/src", ".main.c.swp", Some(false)));
        assert!(!out("/p/src", "main.c", Some(false)));
        assert!(out("/p", "tmp", Some(true)));
        assert!(!out("/p", "tmp", Some(false)), "tmp/ ignores directories only");
        assert!(!out("/p", "tmp", None), "gone: ignored only if ignored whatever its kind");
        assert!(out("/p", "gone.txt", None));
        assert!(out("/p", "top", Some(false)));
        assert!(!out("/p/src", "top", Some(false)), "anchored at the root");
        assert!(out("/p/build/obj", "a.o", Some(false)), "inside an ignored directory");
        assert!(!out("/q", "notes.txt", Some(false)), "outside the root");
        assert!(!out("/pp", "notes.txt", Some(false)), "outside the root, sharing its prefix");
        assert!(r.covers(b"/p/src") && r.covers(b"/p") && !r.covers(b"/pp"));
    }

    #[test]
    fn a_missing_or_empty_file_is_no_rules_and_a_bad_one_is_an_error() {
        let t = tempfile::tempdir().expect("tempdir");
        let root = t.path();
        assert!(DryIgnore::read(root).expect("no file").is_none());
        std::fs::write(root.join(DRYIGNORE), "# nothing\n\n").expect("write");
        assert!(DryIgnore::read(root).expect("empty").is_none());
        std::fs::write(root.join(DRYIGNORE), "\u{feff}*.txt\n").expect("write");
        let r = DryIgnore::read(root).expect("read").expect("rules");
        let dir = root.as_os_str().as_bytes();
        assert!(r.leaves_out(dir, b"a.txt", Some(false)), "a byte order mark is not a pattern");
        std::fs::write(root.join(DRYIGNORE), b"ok\n\xff\n").expect("write");
        let e = DryIgnore::read(root).expect_err("not UTF-8");
        assert!(e.to_string().ends_with(":2: not UTF-8"), "{e}");
        std::fs::write(root.join(DRYIGNORE), "a{b\n").expect("write");
        assert!(DryIgnore::read(root).is_err(), "an unclosed alternation");
    }
}
