//! Scenario tests, one file per area of SPEC.md.

mod harness;

mod cli;
mod differential;
mod differential_cases;
mod differential_gen;
mod dirfd;
mod dryignore;
mod exec;
mod identity;
mod into_output;
mod lowering;
mod modes;
mod nested;
mod r20;
mod r21;
mod riker;
mod robustness;
mod scenarios;
mod stdin;
mod unseen;
