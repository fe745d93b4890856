//! Riker's shell-only scenarios: nested scripts appending to one file (ABbuild), `touch`,
//! a scratch directory (mkdir), a glob (list), removals (rmdir), leftovers of a previous build
//! (rebuild-commit), a build that reads its own output directory (no-fixpoint), `rm -f` then
//! `>>` (rm-append) and `date` (basic-nondeterminism).
//!
//! Each test is one cram file of Riker's `tests/`, named `<directory>_<number>_<what>`; every
//! build is compared with the untraced run by [`Twin`]. A rebuild Riker shows doing nothing is
//! a replay, or [`Twin::settle`] where `--strict` runs it once more because the build finds its
//! own outputs (the build after that one must replay: one build more than Riker's file).

use super::twin::Twin;

/// ABbuild: `./A` writes `myfile` and calls `./B`, which appends to it.
fn ab() -> Twin {
    let t = Twin::rikerfile("#!/bin/sh\n\n./A\n");
    t.write_exec("A", "#!/bin/sh\n\ncat inputA > myfile\n./B\n");
    t.write_exec("B", "#!/bin/sh\n\ncat inputB >> myfile\n");
    t.write("inputA", "hello");
    t.write("inputB", " world\n");
    t
}

#[test]
fn abbuild_01_build() {
    let mut t = ab();
    t.build().ran();
    assert_eq!(t.read("myfile"), "hello world\n");
    t.build().replayed();
}

/// The edits of ABbuild 02 and 03, each build made with dry's options `opts`.
fn ab_change_inputs(opts: &[&str]) {
    let mut t = ab();
    t.build_with(opts).ran();
    t.build_with(opts).replayed();
    t.edit("printf goodbye > inputA");
    t.build_with(opts).ran();
    assert_eq!(t.read("myfile"), "goodbye world\n");
    t.build_with(opts).replayed();
    t.edit("echo ' frodo' > inputB");
    t.build_with(opts).ran();
    assert_eq!(t.read("myfile"), "goodbye frodo\n");
    t.build_with(opts).replayed();
}

#[test]
fn abbuild_02_change_inputs() {
    ab_change_inputs(&[]);
}

/// Riker's `--no-caching` has no dry counterpart; the variant runs with `--no-nested`.
#[test]
fn abbuild_03_change_inputs_nocache() {
    ab_change_inputs(&["--no-nested"]);
}

/// The edits of ABbuild 04 and 05: the output removed is restored.
fn ab_rm_output(opts: &[&str]) {
    let mut t = ab();
    t.build_with(opts).ran();
    t.build_with(opts).replayed();
    t.edit("rm myfile");
    t.build_with(opts).replayed();
    assert_eq!(t.read("myfile"), "hello world\n");
}

#[test]
fn abbuild_04_rm_output() {
    ab_rm_output(&[]);
}

#[test]
fn abbuild_05_rm_output_nocache() {
    ab_rm_output(&["--no-nested"]);
}

#[test]
fn touch_01_build() {
    let mut t = Twin::rikerfile("#!/bin/sh\n\ntouch f");
    t.build().ran();
    t.settle();
}

#[test]
fn touch_02_remove_output() {
    let mut t = Twin::rikerfile("#!/bin/sh\n\ntouch f");
    t.build().ran();
    t.edit("rm f");
    t.build().replayed();
}

/// mkdir: the output is made in a scratch directory that the script removes.
fn scratch_dir() -> Twin {
    let t =
        Twin::rikerfile("#!/bin/sh\n\nmkdir foo\ncat input > foo/f\nmv foo/f output\nrmdir foo\n");
    t.write("input", "Hello\n");
    t
}

#[test]
fn mkdir_01_build() {
    let mut t = scratch_dir();
    t.build().ran();
    assert_eq!(t.read("output"), "Hello\n");
    t.settle();
}

#[test]
fn mkdir_02_change_input() {
    let mut t = scratch_dir();
    t.build().ran();
    t.edit("echo Goodbye > input");
    t.build().ran();
    assert_eq!(t.read("output"), "Goodbye\n");
    t.settle();
}

/// The user overwrites the output: Riker restores it, dry --strict runs the script again
/// (the output's content is an input of `mv` over it); either way it equals a rerun.
#[test]
fn mkdir_03_change_output() {
    let mut t = scratch_dir();
    t.build().ran();
    t.edit("echo OUTPUT > output");
    t.build();
    assert_eq!(t.read("output"), "Hello\n");
    t.settle();
}

#[test]
fn mkdir_04_remove_output() {
    let mut t = scratch_dir();
    t.build().ran();
    t.edit("rm output");
    t.build().replayed();
    assert_eq!(t.read("output"), "Hello\n");
    t.settle();
}

/// list: `cat *.txt > output`.
fn list() -> Twin {
    let t = Twin::rikerfile("#!/bin/sh\n\ncat *.txt > output\n");
    t.write("hello.txt", "hello\n");
    t.write("world.txt", "world\n");
    t
}

#[test]
fn list_01_build() {
    let mut t = list();
    t.build().ran();
    assert_eq!(t.read("output"), "hello\nworld\n");
    t.settle();
}

#[test]
fn list_02_change_input() {
    let mut t = list();
    t.build().ran();
    t.edit("echo goodbye > hello.txt");
    t.build().ran();
    assert_eq!(t.read("output"), "goodbye\nworld\n");
    t.build().replayed();
}

#[test]
fn list_03_remove_output() {
    let mut t = list();
    t.build().ran();
    t.edit("rm output");
    t.build().replayed();
    t.edit("rm output");
    t.build_with(&["--no-nested"]).replayed();
    t.settle();
    assert_eq!(t.read("output"), "hello\nworld\n");
}

/// Overwritten output: see [`mkdir_03_change_output`].
#[test]
fn list_04_change_output() {
    let mut t = list();
    t.build().ran();
    t.edit("echo OVERWRITE > output");
    t.build();
    assert_eq!(t.read("output"), "hello\nworld\n");
    t.edit("echo OVERWRITE > output");
    t.build_with(&["--no-nested"]);
    t.build().replayed();
    assert_eq!(t.read("output"), "hello\nworld\n");
}

#[test]
fn list_05_add_input() {
    let mut t = list();
    t.build().ran();
    t.edit("echo goodbye > goodbye.txt");
    t.build().ran();
    assert_eq!(t.read("output"), "goodbye\nhello\nworld\n");
    t.build().replayed();
}

#[test]
fn list_06_remove_input() {
    let mut t = list();
    t.build().ran();
    t.edit("rm world.txt");
    t.build().ran();
    assert_eq!(t.read("output"), "hello\n");
    t.build().replayed();
}

/// rmdir: the script empties and removes `foo`, which the edits put back.
fn rmdir() -> Twin {
    let t = Twin::rikerfile("#!/bin/sh\n\nrm foo/a\nrm foo/b\nrmdir foo");
    t.edit("mkdir foo && touch foo/a foo/b");
    t
}

#[test]
fn rmdir_01_build() {
    let mut t = rmdir();
    t.build().ran();
    t.edit("mkdir foo && touch foo/a foo/b");
    t.build().replayed();
}

#[test]
fn rmdir_02_extra_file() {
    let mut t = rmdir();
    t.build().ran();
    t.edit("mkdir foo && touch foo/a foo/b foo/c");
    t.build().ran();
}

#[test]
fn rmdir_03_removed_file() {
    let mut t = rmdir();
    t.build().ran();
    t.edit("mkdir foo && touch foo/a");
    t.build().ran();
}

#[test]
fn rebuild_commit_01_symlink() {
    let mut t = Twin::rikerfile("#!/bin/sh\n\ntouch a_file\nln -s a_file a_link\n");
    t.build().ran();
    t.build(); // `ln -s` fails on the link it made: a replay would not be a rerun
}

#[test]
fn rebuild_commit_02_directory() {
    let mut t = Twin::rikerfile("#!/bin/sh\n\nmkdir a_dir\n");
    t.build().ran();
    t.build(); // `mkdir` fails on the directory it made: a replay would not be a rerun
}

/// no-fixpoint: each build counts the `.num` files and adds one more, so no build is a no-op.
/// Riker expects the second build to do nothing; `--strict` reruns it, as running it does.
fn no_fixpoint() -> Twin {
    Twin::rikerfile("#!/bin/sh\n\ntouch `ls -1 | grep .num | wc -l`.num\n")
}

#[test]
fn no_fixpoint_01_start_zero() {
    let mut t = no_fixpoint();
    t.build().ran();
    t.build().ran();
}

#[test]
fn no_fixpoint_02_start_zero_add_one() {
    let mut t = no_fixpoint();
    t.build().ran();
    t.edit("touch 1.num");
    t.build().ran();
    t.build().ran();
}

#[test]
fn no_fixpoint_03_start_one() {
    let mut t = no_fixpoint();
    t.edit("touch 0.num");
    t.build().ran();
    t.build().ran();
}

#[test]
fn no_fixpoint_04_start_one_add_one() {
    let mut t = no_fixpoint();
    t.edit("touch 0.num");
    t.build().ran();
    t.edit("touch 2.num");
    t.build().ran();
    t.build().ran();
}

/// rm-append: `rm -f` then `>>`, including the part Riker skips (its issue 39).
#[test]
fn rm_append_01_check() {
    let mut t = Twin::rikerfile("#!/bin/sh\n\nrm -f output.txt\nsh make-output.sh >> output.txt\n");
    t.write("make-output.sh", "echo abc\n");
    t.build().ran();
    t.build();
    assert_eq!(t.read("output.txt"), "abc\n");
    t.edit("echo 'echo abcd' > make-output.sh");
    t.build().ran();
    assert_eq!(t.read("output.txt"), "abcd\n");
    t.build();
    assert_eq!(t.read("output.txt"), "abcd\n");
}

/// basic-nondeterminism: `date > A` is run once and then replayed; the date itself is
/// volatile (compared by kind), and the replay restores the one the run wrote.
#[test]
fn basic_nondeterminism_01_build() {
    let mut t = Twin::new(&["sh", "Rikerfile"]);
    t.write("Rikerfile", "date > A\n");
    t.volatile("A");
    t.build().ran();
    let first = t.read_dry("A");
    t.build().replayed();
    assert_eq!(t.read_dry("A"), first, "the replay restores the date of the run");
}
