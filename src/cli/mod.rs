//! The command line: one file per subcommand, `exit.rs` the only map from errors to exit
//! statuses. dry's own messages go to stderr prefixed `dry: `; during `build`, stdout belongs to
//! the command.

/// Prints a line on stdout; a closed stdout (`dry show | head`) is not an error worth a panic.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

mod build;
mod check;
mod context;
mod exit;
mod gc;
mod log;
mod replay;
mod show;
mod untraced;
mod why;

use clap::{Parser, Subcommand};

/// dry: make any command incremental.
///
/// dry runs a command under ptrace, records every path it resolves and every file it reads or
/// writes, and next time replays its outputs, stdout, stderr and exit status if nothing it
/// depended on changed.
#[derive(Parser, Debug)]
#[command(
    name = "dry",
    version,
    after_help = "Example:\n  dry build -- cc -c main.c -o main.o\n  dry why"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    Build(build::BuildArgs),
    Why(why::WhyArgs),
    Check(check::CheckArgs),
    Show(show::ShowArgs),
    Log(log::LogArgs),
    Gc(gc::GcArgs),
    Clean(gc::CleanArgs),
    #[command(name = "__replay", hide = true)]
    Replay(replay::ReplayArgs),
}

/// Runs dry with the process's arguments and returns its exit status.
pub fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return std::process::ExitCode::from(exit::usage_code(&e));
        }
    };
    let result = match cli.command {
        Command::Build(a) => build::run(a),
        Command::Why(a) => why::run(a),
        Command::Check(a) => check::run(a),
        Command::Show(a) => show::run(a),
        Command::Log(a) => log::run(a),
        Command::Gc(a) => gc::run_gc(a),
        Command::Clean(a) => gc::run_clean(a),
        Command::Replay(a) => replay::run(a),
    };
    exit::finish(result)
}
