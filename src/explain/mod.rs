//! Explanations: verdicts, key differences and uncacheable runs put into words. Shared by
//! `dry why`, `dry build -v` and `dry show`, so every command says the same thing the same way.
#![forbid(unsafe_code)]

pub mod json;
pub mod words;

pub use words::{
    describe_effect, describe_predicate, failure, key_difference, left_out, not_cached_line,
    show_path, uncacheable,
};
