//! Scenario tests, one file per area of SPEC.md.

mod harness;

mod cli;
mod differential;
mod differential_cases;
mod differential_gen;
mod lowering;
mod nested;
mod robustness;
mod scenarios;
