//! Scenario tests, one file per area of SPEC.md.

mod harness;

mod cli;
mod lowering;
mod nested;
mod robustness;
mod scenarios;
mod stdin;
