//! The generator of the differential fuzzer (differential.rs): a small deterministic PRNG, the
//! vocabulary of script statements, random starting trees and random edits.
//!
//! Names come from a tiny alphabet (`a b c d e`, one level below `d` and `e`) shared by trees,
//! scripts and edits, so that a script reads what an edit changed, writes through a symlink the
//! tree holds, or creates what a later run probes. Symlink targets may dangle or use `..`; the
//! work directory is deep enough that `..` stays inside the project. Nothing here runs anything.

use super::differential::{Case, Edit, Node};

/// SplitMix64: small, fast and good enough to spread seeds; no dependency.
pub struct Rng(u64);

impl Rng {
    /// Returns a generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5eed_d1ff_f022_0001)
    }

    /// Returns the next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Returns a number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Returns true with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    /// Returns one element of `xs` (non-empty).
    pub fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

/// Paths a script or an edit names, relative to the work directory.
const PATHS: &[&str] = &["a", "b", "c", "d", "e", "a", "b", "d/a", "d/b", "e/a"];
/// Directories a script may `cd` into.
const DIRS: &[&str] = &["d", "e", "d", "."];
/// Symlink targets: existing or not, files or directories, relative, with `..`.
const TARGETS: &[&str] = &["a", "b", "c", "d", "e", "d/a", "../a", "../b", "..", "nope"];
/// Words written into files: letters that `sed`, `tr` and `sort` act on.
const WORDS: &[&str] = &["x", "y", "xy", "yx", "a", "b", "x y"];

/// One kind of statement or edit, enabled by name.
pub struct Item {
    /// The name used in `DRY_DIFF_VOCAB`.
    pub name: &'static str,
    /// Whether the default vocabulary has it.
    pub default: bool,
    /// What it makes.
    pub make: Make,
}

/// What an [`Item`] makes.
pub enum Make {
    /// One statement (the argument bounds nesting).
    Statement(fn(&mut Gen, u32) -> String),
    /// One edit of the tree between runs (the weight of the kind among the enabled ones).
    Edit(usize),
}

/// Every statement and edit kind the fuzzer knows.
pub const VOCABULARY: &[Item] = &[
    Item { name: "cat", default: true, make: Make::Statement(cat) },
    Item { name: "echo", default: true, make: Make::Statement(echo) },
    Item { name: "append", default: true, make: Make::Statement(append) },
    Item { name: "cp", default: true, make: Make::Statement(cp) },
    Item { name: "mv", default: true, make: Make::Statement(mv) },
    Item { name: "symlink", default: true, make: Make::Statement(symlink) },
    Item { name: "hardlink", default: true, make: Make::Statement(hardlink) },
    Item { name: "rm", default: true, make: Make::Statement(rm) },
    Item { name: "mkdir", default: true, make: Make::Statement(mkdir) },
    // On since session 20: an open without O_TRUNC reads the prior content (G18).
    Item { name: "touch", default: true, make: Make::Statement(touch) },
    Item { name: "truncate", default: true, make: Make::Statement(truncate) },
    Item { name: "dd", default: true, make: Make::Statement(dd) },
    Item { name: "dd-notrunc", default: true, make: Make::Statement(dd_notrunc) },
    Item { name: "sort", default: true, make: Make::Statement(sort) },
    Item { name: "sed", default: true, make: Make::Statement(sed) },
    Item { name: "tee", default: true, make: Make::Statement(tee) },
    // On since session 20: what standard input is, is an input of every step.
    Item { name: "tee-file", default: true, make: Make::Statement(tee_file) },
    Item { name: "tr", default: true, make: Make::Statement(tr) },
    Item { name: "heredoc", default: true, make: Make::Statement(heredoc) },
    Item { name: "devnull", default: true, make: Make::Statement(devnull) },
    Item { name: "pipe", default: true, make: Make::Statement(pipe) },
    Item { name: "subshell", default: true, make: Make::Statement(subshell) },
    Item { name: "cd", default: true, make: Make::Statement(cd) },
    Item { name: "glob", default: true, make: Make::Statement(glob) },
    Item { name: "test", default: true, make: Make::Statement(test) },
    Item { name: "chmod", default: true, make: Make::Statement(chmod) },
    Item { name: "probe", default: true, make: Make::Statement(probe) },
    Item { name: "status", default: true, make: Make::Statement(status) },
    Item { name: "edit-write", default: true, make: Make::Edit(7) },
    Item { name: "edit-append", default: true, make: Make::Edit(4) },
    Item { name: "edit-remove", default: true, make: Make::Edit(4) },
    Item { name: "edit-symlink", default: true, make: Make::Edit(2) },
    Item { name: "edit-mkdir", default: true, make: Make::Edit(2) },
    // The mode of a file a command reads (and may copy: `sed -i` through `fstat`) is an
    // input since session 21, as that of a file written since session 20.
    Item { name: "edit-chmod", default: true, make: Make::Edit(1) },
];

/// The enabled statement kinds.
pub struct Vocabulary(Vec<&'static Item>);

impl Vocabulary {
    /// Parses `DRY_DIFF_VOCAB`: comma-separated names, `all` or `default` to start from, and
    /// `-name` to remove one (`all,-dd`, `default,+hardlink`, `cat,cp,rm`). Unset: `default`.
    pub fn from_env() -> Vocabulary {
        Vocabulary::parse(&std::env::var("DRY_DIFF_VOCAB").unwrap_or_else(|_| "default".into()))
    }

    /// Parses a vocabulary specification (see [`Vocabulary::from_env`]).
    pub fn parse(spec: &str) -> Vocabulary {
        let mut on: Vec<&'static Item> = Vec::new();
        for word in spec.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            match word {
                "all" => on.extend(VOCABULARY.iter()),
                "default" => on.extend(VOCABULARY.iter().filter(|i| i.default)),
                _ => {
                    let (remove, name) = match word.strip_prefix('-') {
                        Some(n) => (true, n),
                        None => (false, word.strip_prefix('+').unwrap_or(word)),
                    };
                    let item = VOCABULARY
                        .iter()
                        .find(|i| i.name == name)
                        .unwrap_or_else(|| panic!("DRY_DIFF_VOCAB: no item {name:?}"));
                    if remove {
                        on.retain(|i| i.name != name);
                    } else {
                        on.push(item);
                    }
                }
            }
        }
        on.sort_by_key(|i| i.name);
        on.dedup_by_key(|i| i.name);
        assert!(
            on.iter().any(|i| matches!(i.make, Make::Statement(_))),
            "DRY_DIFF_VOCAB {spec:?} enables no statement"
        );
        Vocabulary(on)
    }
}

/// The state of one generation: the PRNG and the enabled vocabulary.
pub struct Gen<'v> {
    rng: Rng,
    vocab: &'v Vocabulary,
}

impl Gen<'_> {
    fn path(&mut self) -> &'static str {
        self.rng.pick(PATHS)
    }

    fn word(&mut self) -> &'static str {
        self.rng.pick(WORDS)
    }

    fn target(&mut self) -> &'static str {
        self.rng.pick(TARGETS)
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        self.rng.pick(xs)
    }

    /// One statement from the enabled vocabulary; compound ones only while `depth > 0`.
    fn statement(&mut self, depth: u32) -> String {
        let simple = self.vocab.0.iter().any(|i| {
            matches!(i.make, Make::Statement(_)) && !matches!(i.name, "subshell" | "test")
        });
        loop {
            let item = self.vocab.0[self.rng.below(self.vocab.0.len())];
            let compound = matches!(item.name, "subshell" | "test");
            match item.make {
                Make::Statement(make) if depth > 0 || !compound || !simple => {
                    return make(self, depth.saturating_sub(1));
                }
                _ => {}
            }
        }
    }

    /// One edit of an enabled kind, or none if no edit kind is enabled.
    fn edit(&mut self) -> Option<Edit> {
        let kinds: Vec<(&str, usize)> = (self.vocab.0.iter())
            .filter_map(|i| match i.make {
                Make::Edit(weight) => Some((i.name, weight)),
                Make::Statement(_) => None,
            })
            .collect();
        let mut roll = self.rng.below(kinds.iter().map(|k| k.1).sum::<usize>().max(1));
        let mut kind = None;
        for (name, weight) in kinds {
            if roll < weight {
                kind = Some(name);
                break;
            }
            roll -= weight;
        }
        let kind = kind?;
        let p = self.path();
        let w = format!("{}\n", self.word());
        Some(match kind {
            "edit-write" => Edit::write(p, &w),
            "edit-append" => Edit::append(p, &w),
            "edit-remove" => Edit::remove(p),
            "edit-symlink" => Edit::symlink(p, self.target()),
            "edit-mkdir" => Edit::mkdir(p),
            _ => Edit::chmod(p),
        })
    }
}

/// Joins statements as a shell list: `; ` unless the previous one ends a here-document.
fn seq(parts: &[String]) -> String {
    let mut s = String::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            s.push_str(if parts[i - 1].ends_with("\nEOF") { "\n" } else { "; " });
        }
        s.push_str(p);
    }
    s
}

/// Closes a compound statement: a here-document's terminator must end its line.
fn close(body: &str, closer: &str) -> String {
    let sep = if body.ends_with("\nEOF") { "\n" } else { "; " };
    format!("{body}{sep}{closer}")
}

fn cat(g: &mut Gen, _: u32) -> String {
    let (p, q, r) = (g.path(), g.path(), g.path());
    match g.rng.below(4) {
        0 => format!("cat {p}"),
        1 => format!("cat {p} {q}"),
        2 => format!("cat {p} > {q}"),
        _ => format!("cat {p} {q} > {r}"),
    }
}

fn echo(g: &mut Gen, _: u32) -> String {
    let (w, p) = (g.word(), g.path());
    match g.rng.below(3) {
        0 => format!("echo {w} > {p}"),
        1 => format!("echo {w}"),
        _ => format!("printf {w} > {p}"),
    }
}

fn append(g: &mut Gen, _: u32) -> String {
    let (w, p, q) = (g.word(), g.path(), g.path());
    match g.rng.below(2) {
        0 => format!("echo {w} >> {p}"),
        _ => format!("cat {p} >> {q}"),
    }
}

fn cp(g: &mut Gen, _: u32) -> String {
    let (p, q) = (g.path(), g.path());
    let flag = g.pick(&["", "-r ", "-P ", "-f "]);
    format!("cp {flag}{p} {q}")
}

fn mv(g: &mut Gen, _: u32) -> String {
    let (p, q) = (g.path(), g.path());
    let flag = g.pick(&["", "-f ", "-T "]);
    format!("mv {flag}{p} {q}")
}

fn symlink(g: &mut Gen, _: u32) -> String {
    let (t, p) = (g.target(), g.path());
    let flag = g.pick(&["-s", "-sf", "-sfn"]);
    format!("ln {flag} {t} {p}")
}

fn hardlink(g: &mut Gen, _: u32) -> String {
    let (p, q) = (g.path(), g.path());
    let flag = g.pick(&["", "-f "]);
    format!("ln {flag}{p} {q}")
}

fn rm(g: &mut Gen, _: u32) -> String {
    let p = g.path();
    let flag = g.pick(&["", "-f ", "-rf ", "-r "]);
    format!("rm {flag}{p}")
}

fn mkdir(g: &mut Gen, _: u32) -> String {
    let p = g.path();
    match g.rng.below(3) {
        0 => format!("mkdir {p}"),
        1 => format!("mkdir -p {p}"),
        _ => format!("rmdir {p}"),
    }
}

fn touch(g: &mut Gen, _: u32) -> String {
    format!("touch {}", g.path())
}

fn truncate(g: &mut Gen, _: u32) -> String {
    let (n, p) = (g.rng.below(4), g.path());
    format!("truncate -s {n} {p}")
}

fn dd(g: &mut Gen, _: u32) -> String {
    let (p, q) = (g.path(), g.path());
    format!("dd if={p} of={q} status=none")
}

fn dd_notrunc(g: &mut Gen, _: u32) -> String {
    let (w, p, q) = (g.word(), g.path(), g.path());
    match g.rng.below(2) {
        0 => format!("dd if={p} of={q} conv=notrunc status=none"),
        _ => format!("printf {w} | dd of={p} conv=notrunc status=none"),
    }
}

fn sort(g: &mut Gen, _: u32) -> String {
    let (p, q, r) = (g.path(), g.path(), g.path());
    match g.rng.below(4) {
        0 => format!("sort {p}"),
        1 => format!("sort {p} -o {q}"),
        2 => format!("sort -o {p} {p}"),
        _ => format!("sort -r {p} {q} > {r}"),
    }
}

fn sed(g: &mut Gen, _: u32) -> String {
    let (p, q, w, v) = (g.path(), g.path(), g.word(), g.word());
    match g.rng.below(3) {
        0 => format!("sed -i 's/x/yy/' {p}"),
        1 => format!("sed 's/{w}/{v}/' {p} > {q}"),
        _ => format!("sed -n 1p {p}"),
    }
}

fn tee(g: &mut Gen, _: u32) -> String {
    let (w, p) = (g.word(), g.path());
    match g.rng.below(2) {
        0 => format!("echo {w} | tee {p}"),
        _ => format!("echo {w} | tee -a {p}"),
    }
}

fn tee_file(g: &mut Gen, _: u32) -> String {
    let (p, q) = (g.path(), g.path());
    format!("tee {p} < {q}")
}

fn tr(g: &mut Gen, _: u32) -> String {
    let (p, q) = (g.path(), g.path());
    match g.rng.below(2) {
        0 => format!("tr xy yx < {p} > {q}"),
        _ => format!("tr -d x < {p}"),
    }
}

fn heredoc(g: &mut Gen, _: u32) -> String {
    let (p, w, v) = (g.path(), g.word(), g.word());
    match g.rng.below(4) {
        0 => format!("cat > {p} <<EOF\n{w}\n{v}\nEOF"),
        1 => format!("cat <<EOF\n{w}\nEOF"),
        2 => format!("cat >> {p} <<'EOF'\n{w}\nEOF"),
        _ => format!("sort <<EOF\n{w}\n{v}\nEOF"),
    }
}

fn devnull(g: &mut Gen, _: u32) -> String {
    let p = g.path();
    match g.rng.below(4) {
        0 => "cat < /dev/null".into(),
        1 => format!("cat < /dev/null > {p}"),
        2 => format!("cp /dev/null {p}"),
        _ => format!("sort {p} < /dev/null"),
    }
}

/// Pipelines whose two sides cannot race: at most one side touches files or writes to stderr
/// (`cat x | tr > x` would depend on who opens `x` first). The same holds for `tee` and `dd`.
fn pipe(g: &mut Gen, _: u32) -> String {
    let (p, q) = (g.path(), g.path());
    match g.rng.below(4) {
        0 => format!("cat {p} | sort"),
        1 => format!("{{ cat {p} | tr x y; }} > {q}"),
        2 => format!("sort {p} | uniq"),
        _ => format!("cat {p} {q} | wc -l"),
    }
}

fn subshell(g: &mut Gen, depth: u32) -> String {
    if g.rng.chance(50) {
        let d = g.pick(DIRS);
        let body = g.statement(depth);
        close(&format!("(cd {d} && {body}"), ")")
    } else {
        let n = 1 + g.rng.below(2);
        let parts: Vec<String> = (0..n).map(|_| g.statement(depth)).collect();
        close(&format!("( {}", seq(&parts)), ")")
    }
}

fn cd(g: &mut Gen, _: u32) -> String {
    format!("cd {}", g.pick(DIRS))
}

fn glob(g: &mut Gen, _: u32) -> String {
    let (d, p) = (g.pick(DIRS), g.path());
    match g.rng.below(5) {
        0 => "cat *".into(),
        1 => "echo *".into(),
        2 => format!("ls {d}"),
        3 => format!("cat {d}/* > {p}"),
        _ => "for f in *; do [ -f \"$f\" ] && echo \"$f\"; done".into(),
    }
}

fn test(g: &mut Gen, depth: u32) -> String {
    let p = g.path();
    let op = g.pick(&["-e", "-f", "-L", "-d", "-s"]);
    let then = g.statement(depth);
    match g.rng.below(3) {
        0 => format!("[ {op} {p} ] && {then}"),
        1 => format!("[ {op} {p} ] || {then}"),
        _ => {
            let other = g.statement(depth);
            let body = close(&format!("if [ {op} {p} ]; then {then}"), "else ");
            close(&format!("{body}{other}"), "fi")
        }
    }
}

fn chmod(g: &mut Gen, _: u32) -> String {
    let p = g.path();
    let how = g.pick(&["+x", "-x", "600", "755"]);
    format!("[ -f {p} ] && chmod {how} {p}")
}

fn probe(g: &mut Gen, _: u32) -> String {
    let p = g.path();
    match g.rng.below(4) {
        0 => format!("stat -c '%F %s %a' {p}"),
        1 => format!("readlink {p}"),
        2 => format!("wc -c < {p}"),
        _ => format!("head -n1 {p}"),
    }
}

fn status(g: &mut Gen, _: u32) -> String {
    g.pick(&["true", "false", "exit 3"]).into()
}

/// The starting tree: `d` and `e` usually directories, names inside them, top-level files and
/// symlinks, sometimes a hard link.
fn tree(rng: &mut Rng) -> Vec<Node> {
    let mut nodes = Vec::new();
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    let content = |rng: &mut Rng| -> String {
        (0..rng.below(4)).map(|_| format!("{}\n", rng.pick(WORDS))).collect()
    };
    for name in ["d", "e", "a", "b", "c", "d/a", "d/b", "e/a"] {
        if name.contains('/') && !dirs.iter().any(|d: &&str| name.starts_with(d)) {
            continue;
        }
        let dir_chance = if name.len() == 1 && "de".contains(name) { 55 } else { 0 };
        let roll = rng.below(100) as u64;
        if roll < dir_chance {
            nodes.push(Node::dir(name));
            dirs.push(name);
        } else if roll < dir_chance + (100 - dir_chance) * 45 / 100 {
            let c = content(rng);
            nodes.push(if rng.chance(15) { Node::exec(name, &c) } else { Node::file(name, &c) });
            files.push(name);
        } else if roll < dir_chance + (100 - dir_chance) * 70 / 100 {
            nodes.push(Node::symlink(name, rng.pick(TARGETS)));
        }
    }
    if !files.is_empty() && rng.chance(20) {
        let to = files[rng.below(files.len())];
        let name = rng.pick(&["c", "e", "d/b"]);
        if !nodes.iter().any(|n| node_path(n) == name) {
            nodes.push(Node::hardlink(name, to));
        }
    }
    nodes
}

fn node_path(n: &Node) -> &str {
    match n {
        Node::File(p, ..) | Node::Dir(p) | Node::Symlink(p, _) | Node::Hardlink(p, _) => p,
    }
}

/// Generates case `seed`: a tree, 1–6 statements and 2 gaps of 0–3 edits (3 runs).
pub fn generate(seed: u64, vocab: &Vocabulary) -> Case {
    let mut g = Gen { rng: Rng::new(seed), vocab };
    let tree = tree(&mut g.rng);
    let n = 1 + g.rng.below(6);
    let script = (0..n).map(|_| g.statement(1)).collect();
    let edits = (0..2).map(|_| (0..g.rng.below(4)).filter_map(|_| g.edit()).collect()).collect();
    Case { tree, script, edits }
}
