//! Sentences about predicates, effects, verdicts and keys, with paths shown relative to the
//! project root when they lie within it.

use model::entry::Uncacheable;
use model::predicate::Predicate;
use model::resolve::ResolveFlags;
use model::verdict::Observed;
use model::{CommandKey, Effect};

/// Shows a path relative to `root` when within it, else absolute; invalid UTF-8 is escaped.
pub fn show_path(path: &[u8], root: &[u8]) -> String {
    let rel = model::path::relative_to(&model::path::normalize(path), root)
        .map(<[u8]>::to_vec)
        .unwrap_or_else(|| path.to_vec());
    escape(&rel)
}

/// Shows bytes as text, escaping what is not printable UTF-8 as `\xNN`.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

fn flags_word(f: &ResolveFlags) -> String {
    let mut w = Vec::new();
    w.push(if f.follow { "follow" } else { "nofollow" });
    if f.directory {
        w.push("directory");
    }
    if f.create {
        w.push("create");
    }
    if f.exclusive {
        w.push("exclusive");
    }
    if f.write {
        w.push("write");
    }
    w.join(",")
}

fn resolved_path(path: &[u8], base: &[u8], root: &[u8]) -> String {
    show_path(&model::path::join(base, path), root)
}

/// Describes what a predicate requires, e.g. `inc1/a.h does not resolve (ENOENT)`.
pub fn describe_predicate(p: &Predicate, root: &[u8]) -> String {
    match p {
        Predicate::Resolves { path, base, flags, to } => format!(
            "{} resolves to a {} [{}]",
            resolved_path(path, base, root),
            to.word(),
            flags_word(flags)
        ),
        Predicate::DoesNotResolve { path, base, flags, errno } => format!(
            "{} does not resolve ({errno}) [{}]",
            resolved_path(path, base, root),
            flags_word(flags)
        ),
        Predicate::Content { path, hash } => {
            format!("{} has content {}", show_path(path, root), &hash.to_hex()[..16])
        }
        Predicate::Metadata { path, kind, mode, size_bytes } => format!(
            "{} is a {} with mode {mode:o} and size {size_bytes}",
            show_path(path, root),
            kind.word()
        ),
        Predicate::Listing { dir, names } => {
            format!("directory {} lists {} names", show_path(dir, root), names.len())
        }
        Predicate::Readlink { path, target } => {
            format!("{} is a symlink to {}", show_path(path, root), escape(target))
        }
        Predicate::Stdin { hash } => {
            format!("standard input has content {}", &hash.to_hex()[..16])
        }
        Predicate::StdinIs { kind } => format!("standard input is {}", kind.name()),
        Predicate::Links { path, count: 0, mode } => {
            format!("{} is absent, or one file of mode {mode:o}", show_path(path, root))
        }
        Predicate::Links { path, count, mode } => {
            format!("{} has {count} name(s) and mode {mode:o}", show_path(path, root))
        }
        Predicate::Identities { groups } => {
            let groups: Vec<String> = groups
                .split(|p| p.is_empty())
                .map(|g| {
                    let names: Vec<String> = g.iter().map(|p| show_path(p, root)).collect();
                    format!("{{{}}}", names.join(", "))
                })
                .collect();
            format!("each of these is another file, names in braces one file: {}", groups.join(" "))
        }
        Predicate::Access { path, want, granted } => format!(
            "{} {} {} access",
            show_path(path, root),
            if *granted { "grants" } else { "refuses" },
            access_word(*want)
        ),
        Predicate::SameFile { a, b, flags, same } => format!(
            "{} and {} are {} [{}]",
            show_path(a, root),
            show_path(b, root),
            if *same { "the same file" } else { "different files" },
            flags_word(flags)
        ),
    }
}

/// Names the access of an `access(2)` mode: `read`, `write`, `read and write`...
fn access_word(want: u32) -> String {
    let words: Vec<&str> = [(4, "read"), (2, "write"), (1, "execute")]
        .iter()
        .filter(|(bit, _)| want & bit != 0)
        .map(|(_, w)| *w)
        .collect();
    if words.is_empty() {
        "any".to_string()
    } else {
        words.join(" and ")
    }
}

/// Describes an effect, e.g. `out.o: regular file (mode 644)`.
pub fn describe_effect(e: &Effect, root: &[u8]) -> String {
    let p = show_path(e.path(), root);
    match e {
        Effect::File { hash, mode, .. } => {
            format!("{p}: regular file {} (mode {mode:o})", &hash.to_hex()[..16])
        }
        Effect::Dir { mode, .. } => format!("{p}: directory (mode {mode:o})"),
        Effect::Symlink { target, .. } => format!("{p}: symlink to {}", escape(target)),
        Effect::HardLink { to, .. } => format!("{p}: hard link to {}", show_path(to, root)),
        Effect::Absent { .. } => format!("{p}: absent (removed by the run)"),
    }
}

/// Says of the listing of `dir` that it holds only because `.dryignore` leaves `names` out of
/// it (each added or removed since), e.g. `directory .: holds ignoring notes.txt (.dryignore)`.
pub fn left_out(dir: &[u8], names: &[Vec<u8>], root: &[u8]) -> String {
    let names: Vec<String> = names.iter().map(|n| escape(n)).collect();
    format!("directory {}: holds ignoring {} (.dryignore)", show_path(dir, root), names.join(", "))
}

/// Says why predicate `p` fails given what was observed, e.g. `in.txt: content changed`.
pub fn failure(p: &Predicate, observed: &Observed, root: &[u8]) -> String {
    let subject = match p {
        Predicate::Resolves { path, base, .. } | Predicate::DoesNotResolve { path, base, .. } => {
            resolved_path(path, base, root)
        }
        Predicate::Listing { dir, .. } => format!("directory {}", show_path(dir, root)),
        Predicate::Stdin { .. } | Predicate::StdinIs { .. } => "standard input".to_string(),
        Predicate::SameFile { a, b, .. } => {
            format!("{} and {}", show_path(a, root), show_path(b, root))
        }
        Predicate::Links { path, .. } => show_path(path, root),
        Predicate::Identities { .. } => "the files it was shown the metadata of".to_string(),
        other => show_path(&other.subject(), root),
    };
    let what = match (p, observed) {
        (Predicate::Resolves { to, .. }, Observed::Errno(e)) => {
            format!("no longer resolves ({e}); was a {}", to.word())
        }
        (Predicate::Resolves { to, .. }, Observed::Kind(k)) => {
            format!("now a {}; was a {}", k.word(), to.word())
        }
        (Predicate::DoesNotResolve { errno, .. }, Observed::Kind(k)) => {
            format!("now exists (a {}); did not resolve before ({errno})", k.word())
        }
        (Predicate::DoesNotResolve { errno, .. }, Observed::Errno(e)) => {
            format!("now fails with {e}; failed with {errno} before")
        }
        (Predicate::Content { .. } | Predicate::Stdin { .. }, Observed::Hash(_)) => {
            "content changed".to_string()
        }
        (
            Predicate::Metadata { kind, mode, size_bytes, .. },
            Observed::Meta { kind: k, mode: m, size_bytes: s },
        ) => {
            let mut parts = Vec::new();
            if k != kind {
                parts.push(format!("now a {}, was a {}", k.word(), kind.word()));
            }
            if m != mode {
                parts.push(format!("mode {mode:o} -> {m:o}"));
            }
            if s != size_bytes {
                parts.push(format!("size {size_bytes} -> {s}"));
            }
            format!("metadata changed ({})", parts.join(", "))
        }
        (Predicate::Listing { .. }, Observed::Names { added, removed }) => {
            let mut parts: Vec<String> = added.iter().map(|n| format!("+{}", escape(n))).collect();
            parts.extend(removed.iter().map(|n| format!("-{}", escape(n))));
            format!("listing changed ({})", parts.join(", "))
        }
        (Predicate::Readlink { target, .. }, Observed::Target(t)) => {
            format!("symlink target changed ({} -> {})", escape(target), escape(t))
        }
        (_, Observed::NoStdinFile) => "is no longer a regular file".to_string(),
        (Predicate::StdinIs { kind: was }, Observed::Stdin(now)) => {
            format!("now {}, was {}", now.name(), was.name())
        }
        (Predicate::Access { want, .. }, Observed::Access(now)) => format!(
            "now {} {} access; {} it before",
            if *now { "grants" } else { "refuses" },
            access_word(*want),
            if *now { "refused" } else { "granted" }
        ),
        (Predicate::Links { count, mode, .. }, Observed::Links(now, m)) => {
            format!("now {now} name(s), mode {m:o}; was {count} name(s), mode {mode:o}")
        }
        (_, Observed::Identities { a, b, same }) => format!(
            "{} and {} are now {}",
            show_path(a, root),
            show_path(b, root),
            if *same {
                "the same file; were different files"
            } else {
                "different files; were the same file"
            }
        ),
        (_, Observed::SameFile(true)) => {
            "are now the same file (hard links); were different files".to_string()
        }
        (_, Observed::SameFile(false)) => {
            "are now different files; were the same file (hard links)".to_string()
        }
        (_, Observed::IntoOutput(output)) => format!(
            "now resolves through a symlink the command did not make into its own output {}, \
             which it changes while it runs (its state when the command looked is unknown)",
            show_path(output, root)
        ),
        (_, Observed::OutputStream(fd)) => format!(
            "now resolves to the file that the command's standard {} goes to, which it \
             writes while it runs",
            if *fd == 1 { "output" } else { "error" }
        ),
        (_, Observed::Errno(e)) => format!("missing or unreadable ({e})"),
        (_, Observed::Kind(k)) => format!("now a {}", k.word()),
        (_, o) => format!("changed ({o:?})"),
    };
    format!("{subject}: {what}")
}

/// Says how the key `now` differs from the recorded key `was` (same family), or `None` if the
/// keys are equal.
pub fn key_difference(was: &CommandKey, now: &CommandKey) -> Option<String> {
    if was.exe_hash != now.exe_hash {
        return Some(format!("{}: content changed (the executable)", escape(&now.exe)));
    }
    if was.streams() != now.streams() {
        let (was, now) = (was.streams().describe(), now.streams().describe());
        return Some(format!("now {now}; when recorded, {was}"));
    }
    let mut names: Vec<&Vec<u8>> = was.env.iter().chain(now.env.iter()).map(|(k, _)| k).collect();
    names.sort();
    names.dedup();
    for name in names {
        let a = was.env.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        let b = now.env.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        if a != b {
            let show =
                |v: Option<&Vec<u8>>| v.map_or("unset".to_string(), |v| format!("'{}'", escape(v)));
            return Some(format!(
                "environment variable {}: changed ({} -> {})",
                escape(name),
                show(a),
                show(b)
            ));
        }
    }
    (was != now).then(|| "command key changed".to_string())
}

/// The one line `dry build` prints (without `-v`) the first time a run is not cached: the first
/// reason, how many more there are, and what would make such a run replayable, e.g. `not
/// cached: read randomness from /dev/urandom; `--ttl DURATION` replays such a run while younger
/// than DURATION`. `None` for a run not cached only because it failed (the user sees that).
pub fn not_cached_line(reasons: &[Uncacheable], root: &[u8]) -> Option<String> {
    let first = reasons.iter().find(|u| !matches!(u, Uncacheable::Failed))?;
    let mut line = format!("not cached: {}", uncacheable(first, root));
    let more = reasons.len() - 1;
    if more > 0 {
        line.push_str(&format!(" (and {more} more reason(s): `dry show` lists them)"));
    }
    let hint = match first {
        Uncacheable::Random { .. } | Uncacheable::Network => {
            Some("`--ttl DURATION` replays such a run while younger than DURATION".to_string())
        }
        Uncacheable::OutsideRoot { .. } => Some(format!(
            "dry restores only what is inside the project root {}: a `.dry/` in a directory \
             above the path would make that the root, or point the tool's cache into the \
             project (CARGO_HOME, PIP_CACHE_DIR, XDG_CACHE_HOME)",
            escape(root)
        )),
        Uncacheable::InteractiveStdin | Uncacheable::StreamStdin { .. } => {
            Some("give it a file or </dev/null on standard input".to_string())
        }
        Uncacheable::InputRaced { .. } => Some("the next build records it".to_string()),
        Uncacheable::Unsupported { .. } | Uncacheable::Failed => None,
    };
    if let Some(hint) = hint {
        line.push_str("; ");
        line.push_str(&hint);
    }
    Some(line)
}

/// Says why a run was not cached, e.g. `read randomness from /dev/urandom`.
pub fn uncacheable(u: &Uncacheable, root: &[u8]) -> String {
    match u {
        Uncacheable::Random { path } => format!("read randomness from {}", escape(path)),
        Uncacheable::Network => "connected a socket".to_string(),
        Uncacheable::InteractiveStdin => "read standard input from a pipe or terminal".to_string(),
        Uncacheable::StreamStdin { kind } => {
            format!(
                "its standard input was {}, which it may read and dry cannot check",
                kind.name()
            )
        }
        Uncacheable::OutsideRoot { path } => {
            format!("changed {} outside the project root", show_path(path, root))
        }
        Uncacheable::InputRaced { path } => {
            format!("input {} changed while the command ran", show_path(path, root))
        }
        Uncacheable::Unsupported { what } => what.clone(),
        Uncacheable::Failed => "exited non-zero (use --cache-failures to record it)".to_string(),
    }
}
