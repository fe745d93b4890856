//! Regression tests of issue 21 ("dry is invisible"): the wrapped command behaves as it does
//! without dry. Each fails on the commit that had the bug (3c0de05).

use super::harness::{Project, Run};

/// Item 3: `--force` means run everything again and re-record it, nested steps included.
#[test]
fn r21_force_runs_nested_steps_too() {
    let p = Project::new();
    p.write("in", "1\n");
    let script = "cat in > out; cat out > out2";
    p.bash(script).assert_ran();
    let r = p.bash(script);
    r.assert_replayed();
    let r = Run::from(
        p.dry_cmd(&["build", "-v", "--force", "--", "bash", "-c", script])
            .output()
            .expect("dry build --force"),
    );
    assert_eq!(r.code, 0, "{r:#?}");
    assert!(!r.stderr.contains("nested: replayed"), "--force replayed a nested step: {r:#?}");
    assert!(r.stderr.contains("nested: ran `cat in`"), "{r:#?}");
    assert_eq!(p.read("out2"), "1\n");
}
