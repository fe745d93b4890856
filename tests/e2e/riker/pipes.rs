//! Riker's pipeline scenarios: `<input sort | uniq >output` (pipes), `cat input | sort | uniq`
//! (pipes2), and Python scripts that call themselves through temporary files
//! (recursive-torture).
//!
//! One test per cram file, compared with the untraced run by [`Twin`] (see `basic` for
//! `settle`). The steps of a pipeline read a pipe, so they are not recorded; the script is.

use super::twin::Twin;

const INPUT1: &str = "a\nb\nb\nc\nc\na\nc\nb\na\nc\nc\nb\nb\na\nc\nb\na";
const INPUT2: &str = "a\nb\nd\nb\ne\na\nb\na\nd\nb\nb\na\ne\nb\na";

fn pipeline(script: &str) -> Twin {
    let t = Twin::rikerfile(script);
    t.write("input", INPUT1);
    t
}

const PIPES: &str = "#!/bin/sh\n\n<input sort | uniq >output\n";
const PIPES2: &str = "#!/bin/sh\n\ncat input | sort | uniq >output\n";

fn build(script: &str) {
    let mut t = pipeline(script);
    t.build().ran();
    assert_eq!(t.read("output"), "a\nb\nc\n");
    t.settle();
}

fn change_input(script: &str) {
    let mut t = pipeline(script);
    t.build().ran();
    t.write("input", INPUT2);
    t.build().ran();
    assert_eq!(t.read("output"), "a\nb\nd\ne\n");
    t.settle();
}

fn remove_output(script: &str) {
    let mut t = pipeline(script);
    t.build().ran();
    t.edit("rm output");
    t.build().replayed();
    assert_eq!(t.read("output"), "a\nb\nc\n");
    t.settle();
}

#[test]
fn pipes_01_build() {
    build(PIPES);
}

#[test]
fn pipes_02_change_input() {
    change_input(PIPES);
}

#[test]
fn pipes_03_remove_output() {
    remove_output(PIPES);
}

#[test]
fn pipes2_01_build() {
    build(PIPES2);
}

#[test]
fn pipes2_02_change_input() {
    change_input(PIPES2);
}

#[test]
fn pipes2_03_remove_output() {
    remove_output(PIPES2);
}

/// recursive-torture: `build N [tmp]` reads `AN` and the temporary file of its caller, writes
/// two temporary files, has `cat` copy one into `output-N`, and calls `build N-1` with the
/// other (Riker skips this file for its `/proc` noise; it runs here).
#[test]
fn recursive_torture_01_build() {
    let mut t = Twin::new(&["python3", "Rikerfile"]);
    t.write(
        "Rikerfile",
        "#!/usr/bin/env python3\nimport subprocess\n\nsubprocess.run([\"python3\", \"build\", \"3\"])\n",
    );
    t.write(
        "build",
        r#"#!/usr/bin/env python3
import subprocess
import sys
import tempfile

n = int(sys.argv[1])
if n > 0:
    with open("A" + str(n)) as f:
        data = f.read()
    if len(sys.argv) == 3:
        with open(sys.argv[2]) as f:
            data = f.read() + "\n" + data
    forward = tempfile.NamedTemporaryFile(delete=True, mode="w")
    forward.write(data)
    forward.flush()
    backward = tempfile.NamedTemporaryFile(delete=True, mode="w")
    backward.write(data[::-1] + "\n")
    backward.flush()
    with open("output-" + str(n), "w") as out:
        subprocess.run(["cat", backward.name], stdout=out)
    subprocess.run(["python3", "build", str(n - 1), forward.name])
    forward.close()
    backward.close()
"#,
    );
    t.write("A1", "s'woh");
    t.write("A2", "ti");
    t.write("A3", "?gniog");
    t.build().ran();
    assert_eq!(t.read("output-1"), "how's\nit\ngoing?\n");
    t.settle();
}
