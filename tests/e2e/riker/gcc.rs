//! Riker's compiler scenarios: gcc one-liners, separate compilation and the toolchain driven by
//! hand (hello), compile errors coming and going (build-error), comment-only edits
//! (edit-comment), `*.c` as files come, go and change (wildcard, addfile, paper-example), two
//! compilations sharing gcc's temporary paths (conflicting-files), whitespace-only edits
//! (whitespace), `--fresh` (fresh), make (make) and `rkr run` (run).
//!
//! One test per cram file, compared with the untraced run by [`Twin`] (see `basic` for
//! `settle`). Riker's `clang` is `cc` here. gcc, `ld` and `make` look at their own previous
//! outputs, so under `--strict` most rebuilds Riker shows doing nothing run once more.

use super::twin::Twin;

const HELLO: &str =
    "#include <stdio.h>\n\nint main() {\n  printf(\"Hello world\\n\");\n  return 0;\n}\n";
const GOODBYE: &str =
    "#include <stdio.h>\n\nint main() {\n  printf(\"Goodbye world\\n\");\n  return 0;\n}\n";

/// hello: `hello.c` and a Rikerfile holding `script`.
fn hello(script: &str) -> Twin {
    let t = Twin::rikerfile(script);
    t.write("hello.c", HELLO);
    t
}

const BASIC: &str = "#!/bin/sh\n\ngcc -o hello hello.c";
const INCREMENTAL: &str = "#!/bin/sh\n\ngcc -c -o hello.o hello.c\ngcc -o hello hello.o";
const WILDCARD: &str = "#!/bin/sh\n\ngcc -o hello *.c";
const NO_GCC: &str = "#!/bin/sh\n\ncpp hello.c hello.i\ngcc -o hello.s -S hello.i\n\
                      gcc -o hello.o -c hello.s\ngcc -o hello hello.o\n";

/// Builds, checks `./hello`, and rebuilds without a change.
fn build_and_rebuild(script: &str) {
    let mut t = hello(script);
    t.build().ran();
    assert_eq!(t.output_of(&["./hello"]), "Hello world\n");
    t.settle();
    assert_eq!(t.output_of(&["./hello"]), "Hello world\n");
}

/// Builds, edits `hello.c`, rebuilds, and rebuilds without a change.
fn build_edit_rebuild(script: &str) -> Twin {
    let mut t = hello(script);
    t.build().ran();
    t.write("hello.c", GOODBYE);
    t.build().ran();
    assert_eq!(t.output_of(&["./hello"]), "Goodbye world\n");
    t.settle();
    t
}

#[test]
fn hello_01_basic_build() {
    build_and_rebuild(BASIC);
}

#[test]
fn hello_02_basic_rebuild() {
    build_edit_rebuild(BASIC);
}

#[test]
fn hello_03_incremental_build() {
    build_and_rebuild(INCREMENTAL);
}

#[test]
fn hello_04_incremental_rebuild() {
    build_edit_rebuild(INCREMENTAL);
}

#[test]
fn hello_05_wildcard_build() {
    build_and_rebuild(WILDCARD);
}

#[test]
fn hello_06_wildcard_rebuild() {
    let mut t = build_edit_rebuild(WILDCARD);
    t.edit("touch foo");
    t.build().ran();
    assert_eq!(t.output_of(&["./hello"]), "Goodbye world\n");
    t.settle();
}

#[test]
fn hello_07_no_gcc_build() {
    build_and_rebuild(NO_GCC);
}

#[test]
fn hello_08_no_gcc_rebuild() {
    build_edit_rebuild(NO_GCC);
}

/// build-error: `hello.c` calls `print_world` from `world.c`; either may miss a semicolon.
mod versions {
    pub const HELLO_OK: &str = "#include <stdio.h>\n\nextern void print_world();\n\n\
        int main() {\n  printf(\"Hello \");\n  print_world();\n  return 0;\n}\n";
    pub const HELLO_BROKEN: &str = "#include <stdio.h>\n\nextern void print_world();\n\n\
        int main() {\n  printf(\"Hello \")\n  print_world();\n  return 0;\n}\n";
    pub const WORLD_OK: &str =
        "#include <stdio.h>\n\nvoid print_world() {\n  printf(\"world.\\n\");\n}\n";
    pub const WORLD_BROKEN: &str =
        "#include <stdio.h>\n\nvoid print_world() {\n  printf(\"world.\\n\")\n}\n";
}

/// The four states of build-error's two files.
#[derive(Clone, Copy)]
enum Sources {
    Working,
    BrokenHello,
    BrokenWorld,
    BothBroken,
}

impl Sources {
    fn put(self, t: &Twin) {
        use versions::*;
        let (hello, world) = match self {
            Sources::Working => (HELLO_OK, WORLD_OK),
            Sources::BrokenHello => (HELLO_BROKEN, WORLD_OK),
            Sources::BrokenWorld => (HELLO_OK, WORLD_BROKEN),
            Sources::BothBroken => (HELLO_BROKEN, WORLD_BROKEN),
        };
        t.write("hello.c", hello);
        t.write("world.c", world);
    }
}

fn build_error(start: Sources) -> Twin {
    let t = Twin::rikerfile("#!/bin/sh\n\ngcc -o hello hello.c world.c");
    start.put(&t);
    t
}

/// A build of build-error in state `s`, then Riker's rebuild without a change: a failed build
/// is not recorded, so the script runs again, but its failed gcc step is replayed.
fn error_step(t: &mut Twin, s: Sources) {
    s.put(t);
    t.build();
    if matches!(s, Sources::Working) {
        assert_eq!(t.output_of(&["./hello"]), "Hello world.\n");
        t.settle();
    } else {
        t.build().ran().nested_replayed("gcc -o hello");
    }
}

#[test]
fn build_error_01_working_to_broken_hello() {
    let mut t = build_error(Sources::Working);
    error_step(&mut t, Sources::Working);
    error_step(&mut t, Sources::BrokenHello);
}

#[test]
fn build_error_02_working_to_broken_world() {
    let mut t = build_error(Sources::Working);
    error_step(&mut t, Sources::Working);
    error_step(&mut t, Sources::BrokenWorld);
}

#[test]
fn build_error_03_working_to_both_broken() {
    let mut t = build_error(Sources::Working);
    error_step(&mut t, Sources::Working);
    error_step(&mut t, Sources::BothBroken);
}

#[test]
fn build_error_04_broken_hello_to_working() {
    let mut t = build_error(Sources::BrokenHello);
    error_step(&mut t, Sources::BrokenHello);
    error_step(&mut t, Sources::Working);
}

#[test]
fn build_error_05_broken_world_to_working() {
    let mut t = build_error(Sources::BrokenWorld);
    error_step(&mut t, Sources::BrokenWorld);
    error_step(&mut t, Sources::Working);
}

#[test]
fn build_error_06_both_broken_to_working() {
    let mut t = build_error(Sources::BothBroken);
    error_step(&mut t, Sources::BothBroken);
    error_step(&mut t, Sources::Working);
}

/// The full cycle: every transition between the four states, one build each (Riker's file
/// rebuilds without a change only after the first build).
#[test]
fn build_error_07_full_cycle() {
    use Sources::*;
    let mut t = build_error(Working);
    error_step(&mut t, Working);
    let cycle = [
        BrokenHello,
        BrokenWorld,
        BothBroken,
        Working,
        BrokenWorld,
        BrokenHello,
        BothBroken,
        BrokenHello,
        Working,
        BothBroken,
        BrokenWorld,
        Working,
    ];
    for s in cycle {
        s.put(&t);
        t.build();
        if matches!(s, Working) {
            assert_eq!(t.output_of(&["./hello"]), "Hello world.\n");
        }
    }
}

#[test]
fn edit_comment_01_build() {
    let mut t = hello(BASIC);
    t.build().ran();
    t.settle();
    for comment in ["// Added comment 1", "// Added comment 2"] {
        t.write("hello.c", &format!("{HELLO}{comment}"));
        t.build().ran();
        assert_eq!(t.output_of(&["./hello"]), "Hello world\n");
        t.settle();
    }
}

/// wildcard: `main.c` calls `a`, `b` and `c` when they are linked in (weak symbols).
fn wildcard() -> Twin {
    let t = Twin::rikerfile("#!/bin/sh\n\ngcc -o program *.c\n");
    t.write(
        "main.c",
        "#include <stdio.h>\n\nextern void a() __attribute__((weak));\n\
         extern void b() __attribute__((weak));\nextern void c() __attribute__((weak));\n\n\
         int main() {\n  printf(\"Hello from main.\\n\");\n  if (a) a();\n  if (b) b();\n\
         if (c) c();\n  return 0;\n}\n",
    );
    t
}

/// Puts `name.c` saying `greeting` in both trees.
fn part(t: &Twin, name: &str, greeting: &str) {
    let src = format!(
        "#include <stdio.h>\n\nvoid {name}() {{\n  printf(\"{greeting} from {name}.\\n\");\n}}\n"
    );
    t.write(&format!("{name}.c"), &src);
}

fn wildcard_abc() -> Twin {
    let t = wildcard();
    for name in ["a", "b", "c"] {
        part(&t, name, "Hello");
    }
    t
}

#[test]
fn wildcard_01_add_files() {
    let mut t = wildcard();
    t.build().ran();
    assert_eq!(t.output_of(&["./program"]), "Hello from main.\n");
    part(&t, "a", "Hello");
    t.build().ran();
    assert_eq!(t.output_of(&["./program"]), "Hello from main.\nHello from a.\n");
    t.settle();
    part(&t, "b", "Hello");
    part(&t, "c", "Hello");
    t.build().ran();
    let all = "Hello from main.\nHello from a.\nHello from b.\nHello from c.\n";
    assert_eq!(t.output_of(&["./program"]), all);
    t.settle();
}

#[test]
fn wildcard_02_remove_files() {
    let mut t = wildcard_abc();
    t.build().ran();
    t.edit("rm c.c");
    t.build().ran();
    let ab = "Hello from main.\nHello from a.\nHello from b.\n";
    assert_eq!(t.output_of(&["./program"]), ab);
    t.settle();
    t.edit("rm a.c b.c");
    t.build().ran();
    assert_eq!(t.output_of(&["./program"]), "Hello from main.\n");
    t.settle();
}

#[test]
fn wildcard_03_modify_files() {
    let mut t = wildcard_abc();
    t.build().ran();
    part(&t, "a", "Goodbye");
    t.build().ran();
    let out = "Hello from main.\nGoodbye from a.\nHello from b.\nHello from c.\n";
    assert_eq!(t.output_of(&["./program"]), out);
    t.settle();
    part(&t, "b", "Goodbye");
    part(&t, "c", "Goodbye");
    t.build().ran();
    let out = "Hello from main.\nGoodbye from a.\nGoodbye from b.\nGoodbye from c.\n";
    assert_eq!(t.output_of(&["./program"]), out);
    t.settle();
}

#[test]
fn wildcard_04_add_modify_files() {
    let mut t = wildcard();
    t.build().ran();
    part(&t, "a", "Hello");
    t.build().ran();
    t.settle();
    part(&t, "a", "Goodbye");
    part(&t, "b", "Hello");
    part(&t, "c", "Hello");
    t.build().ran();
    let out = "Hello from main.\nGoodbye from a.\nHello from b.\nHello from c.\n";
    assert_eq!(t.output_of(&["./program"]), out);
    t.settle();
    part(&t, "b", "Goodbye");
    part(&t, "c", "Goodbye");
    t.build().ran();
    let out = "Hello from main.\nGoodbye from a.\nGoodbye from b.\nGoodbye from c.\n";
    assert_eq!(t.output_of(&["./program"]), out);
    t.settle();
}

#[test]
fn wildcard_05_remove_modify_files() {
    let mut t = wildcard_abc();
    t.build().ran();
    t.edit("rm a.c");
    part(&t, "b", "Goodbye");
    t.build().ran();
    let out = "Hello from main.\nGoodbye from b.\nHello from c.\n";
    assert_eq!(t.output_of(&["./program"]), out);
    t.settle();
    part(&t, "b", "Hello");
    part(&t, "c", "Goodbye");
    t.build().ran();
    let out = "Hello from main.\nHello from b.\nGoodbye from c.\n";
    assert_eq!(t.output_of(&["./program"]), out);
    t.settle();
    part(&t, "b", "Goodbye");
    t.edit("rm c.c");
    t.build().ran();
    assert_eq!(t.output_of(&["./program"]), "Hello from main.\nGoodbye from b.\n");
    t.settle();
}

/// conflicting-files: gcc compiles both files through temporary paths of its own.
#[test]
fn conflicting_files_01_modify_both() {
    let mut t = Twin::rikerfile("#!/bin/sh\n\ngcc -o hello hello.c goodbye.c\n");
    let put = |t: &Twin, mark: &str| {
        t.write(
            "hello.c",
            &format!(
                "#include <stdio.h>\n\nvoid say_goodbye();\n\nint main() {{\n  \
                 printf(\"Hello{mark}\\n\");\n\n  say_goodbye();\n\n  return 0;\n}}\n"
            ),
        );
        t.write(
            "goodbye.c",
            &format!("#include <stdio.h>\n\nvoid say_goodbye() {{\n  printf(\"Goodbye{mark}\\n\");\n}}\n"),
        );
    };
    put(&t, ".");
    t.build().ran();
    assert_eq!(t.output_of(&["./hello"]), "Hello.\nGoodbye.\n");
    t.settle();
    put(&t, "!");
    t.build().ran();
    assert_eq!(t.output_of(&["./hello"]), "Hello!\nGoodbye!\n");
}

/// addfile: a new helper file and a `main.c` that calls it.
#[test]
fn addfile_01_addfile() {
    let mut t = Twin::rikerfile("#!/bin/sh\ncc -o program *.c\n");
    let helper = |n: u32| {
        format!("#include <stdio.h>\n\nvoid helper{n}() {{\n  printf(\"helper {n}\\n\");\n}}\n")
    };
    t.write("helper1.c", &helper(1));
    t.write(
        "main.c",
        "#include <stdio.h>\n\nvoid helper1();\n\nint main() {\n  helper1();\n  return 0;\n}\n",
    );
    t.build().ran();
    assert_eq!(t.output_of(&["./program"]), "helper 1\n");
    t.write("helper2.c", &helper(2));
    t.write(
        "main.c",
        "#include <stdio.h>\n\nvoid helper1();\nvoid helper2();\n\nint main() {\n  helper1();\n  \
         helper2();\n  return 0;\n}",
    );
    t.build().ran();
    assert_eq!(t.output_of(&["./program"]), "helper 1\nhelper 2\n");
}

/// paper-example: the example of Riker's paper, three files and then a fourth with a header.
#[test]
fn paper_example_01_build() {
    let mut t = Twin::rikerfile("#!/bin/sh\n\ngcc -Wall -o program *.c\n");
    for (name, func, text) in [("x", "hello", "hello"), ("y", "world", "world")] {
        let upper = name.to_uppercase();
        t.write(
            &format!("{name}.h"),
            &format!("#pragma once\n\n#define {upper} \"{text}\"\n\nvoid {func}();"),
        );
        t.write(
            &format!("{name}.c"),
            &format!(
                "#include \"{name}.h\"\n#include <stdio.h>\n\nvoid {func}() {{\n    printf({upper});\n}}"
            ),
        );
    }
    let main = |extra_include: &str, extra_call: &str| {
        format!(
            "#include \"x.h\"\n#include \"y.h\"\n{extra_include}#include <stdio.h>\n\nint main() {{\n    \
             hello();\n    printf(\" \");\n    world();\n    printf(\"!\\n\");\n{extra_call}    return 0;\n}}"
        )
    };
    t.write("main.c", &main("", ""));
    t.build().ran();
    assert_eq!(t.output_of(&["./program"]), "hello world!\n");
    t.write("main.c", &main("#include \"z.h\"\n", "    foo();\n    printf(\"\\n\");\n"));
    t.write("z.c", "#include \"z.h\"\n#include <stdio.h>\n\nvoid foo() {\n    printf(FOO);\n}\n");
    t.write("z.h", "#pragma once\n\n#define FOO \"foo\"\n\nvoid foo();\n");
    t.build().ran();
    assert_eq!(t.output_of(&["./program"]), "hello world!\nfoo\n");
}

/// whitespace: blank lines added to `hello.c` leave the same assembly.
#[test]
fn whitespace_01_build() {
    let mut t = Twin::rikerfile("#!/bin/sh\n\ngcc -o hello.s -S hello.c\ncp hello.s output.s");
    t.write("hello.c", "#include <stdio.h>\n\nint main() {\n  printf(\"Hello world!\\n\");\n}");
    t.build().ran();
    t.edit("cp output.s output.no_ws.s");
    t.write("hello.c", "#include <stdio.h>\n\nint main() {\n\n  printf(\"Hello world!\\n\");\n\n}");
    t.build().ran();
    assert_eq!(t.read("output.s"), t.read("output.no_ws.s"));
}

/// fresh: Riker's `--fresh` is dry's `--force`.
#[test]
fn fresh_01_basic_build() {
    let mut t = hello(BASIC);
    t.build().ran();
    t.build_with(&["--force"]).ran();
    t.build_with(&["--force"]).ran();
    assert_eq!(t.output_of(&["./hello"]), "Hello world\n");
    t.settle();
    assert_eq!(t.output_of(&["./hello"]), "Hello world\n");
}

/// make: no Rikerfile, so Riker runs `make --always-make --quiet`.
fn make() -> Twin {
    let t = Twin::new(&["make", "--always-make", "--quiet"]);
    t.write("Makefile", "\nall: hello\n\nhello: hello.c\n\tgcc -o hello hello.c\n");
    t.write("hello.c", HELLO);
    t
}

#[test]
fn make_01_build() {
    let mut t = make();
    t.build().ran();
    assert_eq!(t.output_of(&["./hello"]), "Hello world\n");
    t.settle();
}

#[test]
fn make_02_change_source() {
    let mut t = make();
    t.build().ran();
    t.write("hello.c", GOODBYE);
    t.build().ran();
    assert_eq!(t.output_of(&["./hello"]), "Goodbye world\n");
    t.settle();
}

/// run: `rkr run CMD` is `sh -c CMD` (Riker skips this file on its CI; it runs here).
#[test]
fn run_01_run() {
    let mut t = Twin::new(&["sh", "-c", "gcc -o hello hello.c"]);
    t.write("hello.c", HELLO);
    t.build().ran();
    assert_eq!(t.output_of(&["./hello"]), "Hello world\n");
    t.settle();
}
