//! The `elements-gateway` binary: parse the command line and run it (see `cli.rs`).

use clap::Parser;

/// mimalloc: the gateway allocates many short-lived buffers of every size per request, where
/// glibc's allocator spent about a tenth of the warm benchmark's time (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
