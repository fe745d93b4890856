//! The stable JSON form of entries for `dry show --json` (schema in notes/json.md).
//!
//! Paths and other byte strings are JSON strings when they are valid UTF-8 and
//! `{"hex": "..."}` objects otherwise, so no byte is ever lost.

use model::entry::{ExitStatus, Uncacheable};
use model::predicate::{Predicate, StdinKind};
use model::resolve::ResolveFlags;
use model::{Effect, Entry};
use std::fmt::Write;

/// A JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i128),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object with keys in the given order.
    Obj(Vec<(&'static str, Json)>),
}

impl Json {
    /// A byte string: a JSON string if UTF-8, else `{"hex": ...}`.
    pub fn bytes(b: &[u8]) -> Json {
        match std::str::from_utf8(b) {
            Ok(s) => Json::Str(s.to_string()),
            Err(_) => Json::Obj(vec![(
                "hex",
                Json::Str(b.iter().fold(String::new(), |mut s, x| {
                    let _ = write!(s, "{x:02x}");
                    s
                })),
            )]),
        }
    }

    /// Serialises compactly.
    pub fn render(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Json::Str(s) => {
                out.push('"');
                for c in s.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        '\t' => out.push_str("\\t"),
                        c if (c as u32) < 0x20 => {
                            let _ = write!(out, "\\u{:04x}", c as u32);
                        }
                        c => out.push(c),
                    }
                }
                out.push('"');
            }
            Json::Arr(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.render(out);
                }
                out.push(']');
            }
            Json::Obj(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    Json::Str((*k).to_string()).render(out);
                    out.push(':');
                    v.render(out);
                }
                out.push('}');
            }
        }
    }

    /// Serialises compactly into a new string.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        self.render(&mut s);
        s
    }
}

fn s(x: &str) -> Json {
    Json::Str(x.to_string())
}

fn flags(f: &ResolveFlags) -> Json {
    Json::Obj(vec![
        ("follow", Json::Bool(f.follow)),
        ("reject_symlink", Json::Bool(f.reject_symlink)),
        ("directory", Json::Bool(f.directory)),
        ("create", Json::Bool(f.create)),
        ("exclusive", Json::Bool(f.exclusive)),
        ("write", Json::Bool(f.write)),
    ])
}

fn kind(k: model::FileKind) -> Json {
    s(match k {
        model::FileKind::Regular => "regular",
        model::FileKind::Directory => "directory",
        model::FileKind::Symlink => "symlink",
        model::FileKind::Other => "other",
    })
}

/// The JSON form of a predicate.
pub fn predicate(p: &Predicate) -> Json {
    match p {
        Predicate::Resolves { path, base, flags: f, to } => Json::Obj(vec![
            ("type", s("resolves")),
            ("path", Json::bytes(path)),
            ("base", Json::bytes(base)),
            ("flags", flags(f)),
            ("to", kind(*to)),
        ]),
        Predicate::DoesNotResolve { path, base, flags: f, errno } => Json::Obj(vec![
            ("type", s("does_not_resolve")),
            ("path", Json::bytes(path)),
            ("base", Json::bytes(base)),
            ("flags", flags(f)),
            ("errno", s(&errno.name())),
        ]),
        Predicate::Content { path, hash } => Json::Obj(vec![
            ("type", s("content")),
            ("path", Json::bytes(path)),
            ("hash", s(&hash.to_hex())),
        ]),
        Predicate::Metadata { path, kind: k, mode, size_bytes } => Json::Obj(vec![
            ("type", s("metadata")),
            ("path", Json::bytes(path)),
            ("kind", kind(*k)),
            ("mode", Json::Int(i128::from(*mode))),
            ("size_bytes", Json::Int(i128::from(*size_bytes))),
        ]),
        Predicate::Listing { dir, names } => Json::Obj(vec![
            ("type", s("listing")),
            ("dir", Json::bytes(dir)),
            ("names", Json::Arr(names.iter().map(|n| Json::bytes(n)).collect())),
        ]),
        Predicate::Readlink { path, target } => Json::Obj(vec![
            ("type", s("readlink")),
            ("path", Json::bytes(path)),
            ("target", Json::bytes(target)),
        ]),
        Predicate::Stdin { hash } => {
            Json::Obj(vec![("type", s("stdin")), ("hash", s(&hash.to_hex()))])
        }
        Predicate::StdinIs { kind } => {
            Json::Obj(vec![("type", s("stdin_is")), ("kind", stdin_kind(*kind))])
        }
        Predicate::Links { path, count, mode } => Json::Obj(vec![
            ("type", s("links")),
            ("path", Json::bytes(path)),
            ("count", Json::Int(i128::from(*count))),
            ("mode", Json::Int(i128::from(*mode))),
        ]),
        Predicate::Access { path, want, granted } => Json::Obj(vec![
            ("type", s("access")),
            ("path", Json::bytes(path)),
            ("want", Json::Int(i128::from(*want))),
            ("granted", Json::Bool(*granted)),
        ]),
        Predicate::SameFile { a, b, flags: f, same } => Json::Obj(vec![
            ("type", s("same_file")),
            ("a", Json::bytes(a)),
            ("b", Json::bytes(b)),
            ("flags", flags(f)),
            ("same", Json::Bool(*same)),
        ]),
        Predicate::Identities { groups } => {
            let groups = groups.split(|p| p.is_empty());
            let groups = groups.map(|g| Json::Arr(g.iter().map(|p| Json::bytes(p)).collect()));
            Json::Obj(vec![("type", s("identities")), ("groups", Json::Arr(groups.collect()))])
        }
    }
}

/// The JSON form of what standard input is.
fn stdin_kind(k: StdinKind) -> Json {
    s(match k {
        StdinKind::Closed => "closed",
        StdinKind::Null => "null",
        StdinKind::File => "file",
        StdinKind::Terminal => "terminal",
        StdinKind::Stream => "stream",
        StdinKind::Other => "other",
    })
}

/// The JSON form of an effect.
pub fn effect(e: &Effect) -> Json {
    match e {
        Effect::File { path, hash, mode } => Json::Obj(vec![
            ("type", s("file")),
            ("path", Json::bytes(path)),
            ("hash", s(&hash.to_hex())),
            ("mode", Json::Int(i128::from(*mode))),
        ]),
        Effect::Dir { path, mode } => Json::Obj(vec![
            ("type", s("dir")),
            ("path", Json::bytes(path)),
            ("mode", Json::Int(i128::from(*mode))),
        ]),
        Effect::Symlink { path, target } => Json::Obj(vec![
            ("type", s("symlink")),
            ("path", Json::bytes(path)),
            ("target", Json::bytes(target)),
        ]),
        Effect::HardLink { path, to } => Json::Obj(vec![
            ("type", s("hard_link")),
            ("path", Json::bytes(path)),
            ("to", Json::bytes(to)),
        ]),
        Effect::Absent { path } => {
            Json::Obj(vec![("type", s("absent")), ("path", Json::bytes(path))])
        }
    }
}

fn uncacheable(u: &Uncacheable) -> Json {
    let (tag, detail) = match u {
        Uncacheable::Random { path } => ("random", Json::bytes(path)),
        Uncacheable::Network => ("network", Json::Null),
        Uncacheable::InteractiveStdin => ("interactive_stdin", Json::Null),
        Uncacheable::StreamStdin { kind } => ("stream_stdin", stdin_kind(*kind)),
        Uncacheable::OutsideRoot { path } => ("outside_root", Json::bytes(path)),
        Uncacheable::InputRaced { path } => ("input_raced", Json::bytes(path)),
        Uncacheable::Unsupported { what } => ("unsupported", s(what)),
        Uncacheable::Failed => ("failed", Json::Null),
    };
    Json::Obj(vec![("reason", s(tag)), ("detail", detail)])
}

/// The JSON form of an entry.
pub fn entry(e: &Entry) -> Json {
    let k = &e.key;
    let exit = match e.exit {
        ExitStatus::Code(c) => Json::Obj(vec![("code", Json::Int(i128::from(c)))]),
        ExitStatus::Signal(n) => Json::Obj(vec![("signal", Json::Int(i128::from(n)))]),
    };
    Json::Obj(vec![
        ("key", s(&k.id().to_hex())),
        ("family", s(&k.family().to_hex())),
        (
            "command",
            Json::Obj(vec![
                ("exe", Json::bytes(&k.exe)),
                ("exe_hash", s(&k.exe_hash.to_hex())),
                ("argv", Json::Arr(k.argv.iter().map(|a| Json::bytes(a)).collect())),
                ("cwd", Json::bytes(&k.cwd)),
                (
                    "env",
                    Json::Arr(
                        k.env
                            .iter()
                            .map(|(n, v)| Json::Arr(vec![Json::bytes(n), Json::bytes(v)]))
                            .collect(),
                    ),
                ),
            ]),
        ),
        ("cacheable", Json::Bool(e.cacheable())),
        ("uncacheable", Json::Arr(e.uncacheable.iter().map(uncacheable).collect())),
        ("exit", exit),
        ("stdout_bytes", Json::Int(i128::from(e.stdout.size_bytes))),
        ("stderr_bytes", Json::Int(i128::from(e.stderr.size_bytes))),
        ("run_ns", Json::Int(i128::from(e.run_ns))),
        ("recorded_unix_ns", Json::Int(i128::from(e.recorded_unix_ns))),
        ("predicates", Json::Arr(e.predicates.iter().map(predicate).collect())),
        ("effects", Json::Arr(e.effects.iter().map(effect).collect())),
        (
            "unknown_syscalls",
            Json::Arr(
                e.unknown_syscalls
                    .iter()
                    .map(|(nr, n)| {
                        Json::Obj(vec![
                            ("nr", Json::Int(i128::from(*nr))),
                            ("count", Json::Int(i128::from(*n))),
                        ])
                    })
                    .collect(),
            ),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_and_non_utf8_is_hex() {
        assert_eq!(Json::Str("a\"b\n\u{1}".into()).to_text(), r#""a\"b\n\u0001""#);
        assert_eq!(Json::bytes(b"\xff\x00").to_text(), r#"{"hex":"ff00"}"#);
        assert_eq!(Json::Arr(vec![Json::Int(-1), Json::Null]).to_text(), "[-1,null]");
    }
}
