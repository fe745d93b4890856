//! Lexical operations on byte paths: joining a relative path to its base and normalising `.`,
//! `..` and repeated slashes. These never consult a filesystem; they name the paths of effects and
//! decide which observations concern something the command itself wrote.

/// Joins `path` to the absolute directory `base` (returns `path` itself when it is absolute).
pub fn join(base: &[u8], path: &[u8]) -> Vec<u8> {
    if path.first() == Some(&b'/') {
        return path.to_vec();
    }
    let mut out = Vec::with_capacity(base.len() + 1 + path.len());
    out.extend_from_slice(base);
    if !out.ends_with(b"/") {
        out.push(b'/');
    }
    out.extend_from_slice(path);
    out
}

/// Normalises an absolute path lexically: removes `.`, empty components and trailing slashes and
/// resolves `..` against the preceding component. `/a/./b/../c//` becomes `/a/c`.
///
/// Lexical `..` differs from the kernel's when the preceding component is a symlink; dry uses
/// normalised paths only to name effects and to recognise its own writes, never to check inputs.
pub fn normalize(abs: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(abs.len());
    normalize_into(&mut out, abs);
    out
}

/// Appends the lexical normalisation of absolute `abs` ([`normalize`]) to `out`, allocating
/// nothing beyond `out`'s own growth: a `..` takes back the component written last.
pub fn normalize_into(out: &mut Vec<u8>, abs: &[u8]) {
    let start = out.len();
    for comp in abs.split(|&b| b == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => {
                let last = out[start..].iter().rposition(|&b| b == b'/').unwrap_or(0);
                out.truncate(start + last);
            }
            c => {
                out.push(b'/');
                out.extend_from_slice(c);
            }
        }
    }
    if out.len() == start {
        out.push(b'/');
    }
}

/// Returns the parent of a normalised absolute path (`/` for `/` itself).
pub fn parent(norm: &[u8]) -> &[u8] {
    match norm.iter().rposition(|&b| b == b'/') {
        Some(0) | None => b"/",
        Some(i) => &norm[..i],
    }
}

/// Returns the last component of a normalised absolute path (empty for `/`).
pub fn file_name(norm: &[u8]) -> &[u8] {
    match norm.iter().rposition(|&b| b == b'/') {
        Some(i) => &norm[i + 1..],
        None => norm,
    }
}

/// Reports whether normalised path `path` equals `dir` or lies below it.
pub fn is_within(path: &[u8], dir: &[u8]) -> bool {
    if dir == b"/" {
        return true;
    }
    path.starts_with(dir) && (path.len() == dir.len() || path[dir.len()] == b'/')
}

/// Returns `path` relative to `dir` if it lies within it (`.` for `dir` itself).
pub fn relative_to<'a>(path: &'a [u8], dir: &[u8]) -> Option<&'a [u8]> {
    if !is_within(path, dir) {
        return None;
    }
    if path.len() == dir.len() {
        return Some(b".");
    }
    let skip = if dir == b"/" { 1 } else { dir.len() + 1 };
    Some(&path[skip..])
}

/// Returns the normalised ancestors of a normalised path, nearest first, excluding the path and
/// including `/`.
pub fn ancestors(norm: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut cur = norm;
    std::iter::from_fn(move || {
        if cur == b"/" {
            return None;
        }
        cur = parent(cur);
        Some(cur)
    })
}

/// Splits an absolute path as spelled, trailing slashes trimmed, into its directory part and
/// its last component (which may be `.`, `..` or empty for `/`). `None` if it has no slash.
pub fn split_name(abs: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut end = abs.len();
    while end > 1 && abs[end - 1] == b'/' {
        end -= 1;
    }
    let trimmed = &abs[..end];
    let i = trimmed.iter().rposition(|&b| b == b'/')?;
    Some((&trimmed[..i.max(1)], &trimmed[i + 1..]))
}

/// Whether the walk of absolute `spelled` (not normalised), component by component from `/`,
/// meets a path for which `changed` answers true: a prefix reached by the walk as spelled,
/// taking `..` lexically. A symlink on the way is not followed (the caller asks about the
/// paths the spelling names; where a symlink leads is the tracer's [`crate::observe`]
/// `Canonical`).
pub fn walk_meets(spelled: &[u8], changed: impl FnMut(&[u8]) -> bool) -> bool {
    walk_meets_at(b"/", spelled, changed)
}

/// [`walk_meets`] of `path` resolved from absolute `base` (ignored when `path` is absolute),
/// without joining them first: the tracer asks it of every resolution.
pub fn walk_meets_at(base: &[u8], path: &[u8], mut changed: impl FnMut(&[u8]) -> bool) -> bool {
    let base: &[u8] = if path.first() == Some(&b'/') { b"/" } else { base };
    let mut cur: Vec<u8> = b"/".to_vec();
    let comps = base.split(|&b| b == b'/').chain(path.split(|&b| b == b'/'));
    for comp in comps {
        match comp {
            b"" | b"." => {}
            b".." => {
                let up = parent(&cur).len();
                cur.truncate(up);
            }
            name => {
                if cur.len() > 1 {
                    cur.push(b'/');
                }
                cur.extend_from_slice(name);
                if changed(&cur) {
                    return true;
                }
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_walk_meets_every_prefix_it_passes_through() {
        let changed = |p: &[u8]| p == b"/p/d";
        assert!(walk_meets(b"/p/d/../input", changed));
        assert!(walk_meets(b"/p/./d", changed));
        assert!(!walk_meets(b"/p/e/../input", changed));
        assert!(!walk_meets(b"/p/dd", changed));
        assert!(walk_meets(b"/p/x/../d/f", changed));
        assert!(!walk_meets(b"/q/../d", changed), "/d is not /p/d");
        assert_eq!(split_name(b"/p/a//"), Some((&b"/p"[..], &b"a"[..])));
        assert_eq!(split_name(b"/a"), Some((&b"/"[..], &b"a"[..])));
        assert_eq!(split_name(b"/"), Some((&b"/"[..], &b""[..])));
    }

    #[test]
    fn normalize_removes_dots_and_slashes() {
        assert_eq!(normalize(b"/a/./b/../c//"), b"/a/c");
        assert_eq!(normalize(b"/.."), b"/");
        assert_eq!(normalize(b"/"), b"/");
    }

    /// The normalisation as first written: components collected, then joined.
    fn normalize_by_parts(abs: &[u8]) -> Vec<u8> {
        let mut parts: Vec<&[u8]> = Vec::new();
        for comp in abs.split(|&b| b == b'/') {
            match comp {
                b"" | b"." => {}
                b".." => {
                    parts.pop();
                }
                c => parts.push(c),
            }
        }
        let joined: Vec<u8> = parts.iter().flat_map(|p| [&b"/"[..], p].concat()).collect();
        if joined.is_empty() {
            b"/".to_vec()
        } else {
            joined
        }
    }

    proptest::proptest! {
        /// Normalising in place behind a prefix equals the prefix followed by the
        /// normalisation by parts, for paths made of `a`, `b`, `.`, `..` and slashes.
        #[test]
        fn normalize_into_appends_what_normalize_by_parts_gives(
            comps in proptest::collection::vec(
                proptest::sample::select(vec!["a", "bb", ".", "..", ""]), 0..12),
            prefix in proptest::sample::select(vec!["", "X", "/q/"]),
        ) {
            let abs = format!("/{}", comps.join("/"));
            let mut out = prefix.as_bytes().to_vec();
            normalize_into(&mut out, abs.as_bytes());
            let mut want = prefix.as_bytes().to_vec();
            want.extend_from_slice(&normalize_by_parts(abs.as_bytes()));
            proptest::prop_assert_eq!(out, want);
        }
    }

    #[test]
    fn normalize_into_takes_back_only_its_own_components() {
        let mut out = b"/keep".to_vec();
        normalize_into(&mut out, b"/a/../..");
        assert_eq!(out, b"/keep/");
    }

    #[test]
    fn join_keeps_absolute_paths() {
        assert_eq!(join(b"/x", b"/y"), b"/y");
        assert_eq!(join(b"/x", b"y"), b"/x/y");
        assert_eq!(join(b"/", b"y"), b"/y");
    }

    #[test]
    fn within_and_relative() {
        assert!(is_within(b"/a/b", b"/a"));
        assert!(!is_within(b"/ab", b"/a"));
        assert_eq!(relative_to(b"/a/b/c", b"/a"), Some(&b"b/c"[..]));
        assert_eq!(relative_to(b"/a", b"/a"), Some(&b"."[..]));
        assert_eq!(parent(b"/a/b"), b"/a");
        assert_eq!(parent(b"/a"), b"/");
        let anc: Vec<&[u8]> = ancestors(b"/a/b/c").collect();
        assert_eq!(anc, vec![&b"/a/b"[..], b"/a", b"/"]);
    }
}
