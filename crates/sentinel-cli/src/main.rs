//! `sentinel`: the admin command for sentinel's Redis store and telemon's Telegram alerts.
//!
//! Run `sentinel --help` for the commands and exit codes; the README's "Admin CLI" section
//! has examples.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool prints its results"
)]

mod alerts;
mod args;
mod blocked;
mod failure;
mod store_commands;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // Usage errors (exit 2), `--help` and `--version` (exit 0) are clap's.
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Alerts { command } => alerts::run(command).await,
        _ => store_commands::run(&cli).await,
    };
    match result {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("sentinel: {failure}");
            ExitCode::from(failure.code())
        }
    }
}
