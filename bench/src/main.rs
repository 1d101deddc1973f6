//! `bench`: how close registration gets to the machine's bare argon2 rate, how fast it
//! answers and sends the activation email at a moderate fixed rate, how many requests per
//! second a signed-in account gets (its profile with a bearer token, and new tokens), and how
//! quickly an administrator's search over many accounts answers; and for the shop, how quickly
//! the public catalogue search answers and how many orders per second the server takes; and how
//! long a domain event takes from its commit to a webhook receiver; and what a flood of
//! oversized and valid registrations does to the server's memory and its health probe.
//!
//! Password hashing is by design the most expensive thing the server does, so the bare hash
//! rate is the ceiling for registrations (and sign-ins) per second; the gap between the two is
//! what the rest of the stack (HTTP, JSON, validation, Postgres, the mail queue) costs. Reading
//! the profile hashes nothing, so there the stack is all there is.
//!
//! Every run prints readable lines and one `RESULT {json}` line that `bench/run.sh` parses.

#![allow(
    clippy::print_stdout,
    reason = "a command-line tool: standard output is its report"
)]

mod account;
mod admin_search;
mod args;
mod cpu;
mod flood;
mod hash_loop;
mod http;
mod identity;
mod pgbench;
mod place_order;
mod probe;
mod products_search;
mod register;
mod report;
mod signed_in;
mod smtp_sink;
mod soak;
mod stats;
mod webhooks;

use std::process::ExitCode;

use args::Command;
use signed_in::Endpoint;

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    // The soak parses its own options (bench/src/soak.rs).
    if arguments.first().is_some_and(|a| a == "soak") {
        return match soak::parse(&arguments[1..])
            .and_then(|args| runtime(1)?.block_on(soak::run(args)))
        {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}\n\n{}", soak::USAGE);
                ExitCode::FAILURE
            }
        };
    }
    let command = match args::parse(arguments) {
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
            println!("{}\n{}", args::USAGE, soak::USAGE);
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
        Command::Profile(args) => {
            runtime(args.threads)?.block_on(signed_in::run(Endpoint::Profile, args))
        }
        // pgbench drives the load; the bench only makes the account.
        Command::ProfileSql(args) => runtime(1)?.block_on(pgbench::run(args)),
        Command::PlaceOrderSql(args) => runtime(1)?.block_on(pgbench::place_order(args)),
        Command::ProductsSearchSql(args) => runtime(1)?.block_on(pgbench::products_search(args)),
        Command::Token(args) => {
            runtime(args.threads)?.block_on(signed_in::run(Endpoint::Token, args))
        }
        Command::AdminSearch(args) => runtime(args.run.threads)?.block_on(admin_search::run(args)),
        Command::ProductsSearch(args) => {
            runtime(args.threads)?.block_on(products_search::run(args))
        }
        Command::PlaceOrder(args) => runtime(args.run.threads)?.block_on(place_order::run(args)),
        Command::Webhooks(args) => runtime(1)?.block_on(webhooks::run(args)),
        // The probe runs as a process of its own, the memory sampler on a thread of its own.
        Command::Flood(args) => runtime(1)?.block_on(flood::run(args)),
        Command::Probe { url } => probe::run(&url),
    }
}

/// One thread by default, as for registration: at a few thousand requests per second the
/// client's share of a request (a clone of a prepared request, a pooled connection, a drained
/// body) is small, and a single-threaded runtime spends none of it on handing tasks between
/// threads or waking idle ones, so the cores stay with the server and Postgres. `--threads`
/// above 1 is there to check that the client is not the limit (its CPU share is reported).
fn runtime(threads: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    Ok(runtime)
}
