//! The command line.

/// Runs dry with the process's arguments.
pub fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(125)
}
