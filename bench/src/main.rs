//! `bench`: how close registration gets to the machine's bare argon2 rate, and how fast it
//! answers and sends the activation email at a moderate fixed rate.
//!
//! Password hashing is by design the most expensive thing the server does, so the bare hash
//! rate is the ceiling for registrations per second; the gap between the two is what the rest
//! of the stack (HTTP, JSON, validation, Postgres, the mail queue) costs.
//!
//! Every run prints readable lines and one `RESULT {json}` line that `bench/run.sh` parses.

#![allow(
    clippy::print_stdout,
    reason = "a command-line tool: standard output is its report"
)]

mod args;
mod hash_loop;
mod identity;
mod register;
mod report;
mod smtp_sink;
mod stats;

use std::process::ExitCode;

use args::Command;

fn main() -> ExitCode {
    let command = match args::parse(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(e) => {
            eprintln!("error: {e:#}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    match run(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Help => {
            println!("{}", args::USAGE);
            Ok(())
        }
        Command::Argon2 { seconds } => hash_loop::run(seconds),
        Command::Register(args) => {
            // One thread is plenty to drive the load, and leaves the cores to the server
            // under test on a small machine.
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(register::run(args))
        }
    }
}
