//! Replays the committed seed corpus of every fuzz target on the stable toolchain:
//! `cargo test --no-default-features` in fuzz/.

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus directory") {
        let path = entry.expect("corpus entry").path();
        check(&std::fs::read(&path).expect("corpus file"));
        n += 1;
    }
    assert!(n > 0, "no seeds in {}", dir.display());
}

#[test]
fn soundness_corpus() {
    replay("soundness", dry_fuzz::soundness);
}

#[test]
fn open_db_corpus() {
    replay("open_db", dry_fuzz::open_db);
}

#[test]
fn resolve_corpus() {
    replay("resolve", dry_fuzz::resolve);
}

#[test]
fn lower_events_corpus() {
    replay("lower_events", dry_fuzz::lower_events);
}
