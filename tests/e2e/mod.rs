//! Scenario tests, one file per area of SPEC.md.

mod harness;

mod cli;
mod exec;
mod lowering;
mod nested;
mod r20;
mod r21;
mod riker;
mod robustness;
mod scenarios;
mod unseen;
