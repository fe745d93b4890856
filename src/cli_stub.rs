//! Temporary stand-in while the stages are being written.
/// Runs dry.
pub fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(125)
}
