//! `postino`: the Postino binary. `postino serve` runs the mail services;
//! the other commands manage domains, mailboxes, aliases and admins.

use std::process::ExitCode;

use clap::Parser;
use postino_admin::{Args, run};

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("postino: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line, with the causes: `failed to X: because Y`.
            eprintln!("postino: {err:#}");
            ExitCode::FAILURE
        }
    }
}
