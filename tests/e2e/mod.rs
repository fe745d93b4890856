//! Scenario tests, one file per area of SPEC.md.

mod harness;

mod cli;
mod exec;
mod lowering;
mod nested;
mod robustness;
mod scenarios;
mod unseen;
