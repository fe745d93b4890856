//! The only place where errors become exit statuses (env(1) and timeout(1) conventions):
//! 2 usage, 125 dry itself failed, 126 command not executable, 127 command not found. A
//! command's own status passes through unchanged.

use std::process::ExitCode;

/// A usage error found after parsing (e.g. `dry why` with both a path and a command).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Returns clap's exit status for a parse error: 0 for --help/--version, 2 otherwise.
pub fn usage_code(e: &clap::Error) -> u8 {
    if e.use_stderr() {
        2
    } else {
        0
    }
}

/// Classifies an error into dry's exit statuses.
pub fn code_of(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if cause.downcast_ref::<UsageError>().is_some() {
            return 2;
        }
        if let Some(k) = cause.downcast_ref::<crate::key::ExeError>() {
            return match k {
                crate::key::ExeError::NotExecutable(_) => 126,
                _ => 127,
            };
        }
        if let Some(t) = cause.downcast_ref::<crate::trace::TraceError>() {
            match t {
                crate::trace::TraceError::NotFound(_) => return 127,
                crate::trace::TraceError::NotExecutable(_) => return 126,
                crate::trace::TraceError::Exec { source: nix::errno::Errno::ENOENT, .. } => {
                    return 127
                }
                crate::trace::TraceError::Exec { .. } => return 126,
                _ => {}
            }
        }
    }
    125
}

/// Returns an error and its causes in one line, leaving out a cause whose text the message
/// before it already ends with (store errors name their source in their own message).
pub fn chain(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !line.ends_with(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    line
}

/// Turns a subcommand's result into the process exit status, printing any error.
pub fn finish(result: anyhow::Result<i32>) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code & 0xff).unwrap_or(125)),
        Err(e) => {
            eprintln!("dry: {e:#}");
            ExitCode::from(code_of(&e))
        }
    }
}
