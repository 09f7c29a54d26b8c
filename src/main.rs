//! The `elements-gateway` binary: parse the command line and run it (see `cli.rs`).

use clap::Parser;

/// mimalloc: the gateway allocates many short-lived buffers of every size per request, where
/// glibc's allocator spent about a tenth of the warm benchmark's time (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay`, read by `build.rs` from the `mimalloc.h` this build
/// compiles (libmimalloc-sys exports no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = parse(env!("MI_OPTION_PURGE_DELAY"));

/// A decimal number, at compile time.
const fn parse(text: &str) -> libmimalloc_sys::mi_option_t {
    let bytes = text.as_bytes();
    let mut value = 0;
    let mut at = 0;
    while at < bytes.len() {
        value = value * 10 + (bytes[at] - b'0') as libmimalloc_sys::mi_option_t;
        at += 1;
    }
    value
}

fn main() -> std::process::ExitCode {
    // mimalloc returns freed pages to the OS only when the thread that freed them allocates
    // again after the delay; a worker that built one huge answer and then went idle kept its
    // memory (RSS 146 instead of 64 MiB after two 50,000-product answers). Purging at once
    // costs nothing measurable here; `MIMALLOC_PURGE_DELAY` still overrides this default.
    // SAFETY: called before the runtime starts any thread, as mimalloc's options require.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_set_default(MI_OPTION_PURGE_DELAY, 0)
    };
    let cli = elements_gateway::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(elements_gateway::cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
