//! The `elements-gateway` binary: parse the command line and run it (see `cli.rs`).

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = elements_gateway::cli::Cli::parse();
    match elements_gateway::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
