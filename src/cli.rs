//! The command line: `serve [--config FILE] [--demo]`, `schema`, `config check [--config FILE]`,
//! `mock-upstream …`.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::{
    app::Application,
    check,
    config::{Settings, TelemetrySettings},
    demo, graphql,
    mock_upstream::{self, MockClient, MockOptions, TOKEN_PATH},
    telemetry,
};

/// elements-gateway: a typed GraphQL API over AvePoint Elements' partner REST endpoint.
#[derive(Debug, Parser)]
#[command(name = "elements-gateway", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the gateway (settings from --config and GATEWAY_* variables).
    Serve {
        /// A TOML settings file; GATEWAY_* environment variables override it.
        #[arg(long, value_name = "FILE", conflicts_with = "demo")]
        config: Option<PathBuf>,
        /// Serve over a built-in sample upstream with no setup; prints a caller token.
        #[arg(long)]
        demo: bool,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Work with the settings without serving.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Run a stand-alone fake upstream for local work and benchmarks.
    MockUpstream {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:9090")]
        listen: SocketAddr,
        /// How many customers to serve.
        #[arg(long, default_value_t = 120)]
        customers: usize,
        /// Products per customer.
        #[arg(long, default_value_t = 5)]
        products_per_customer: usize,
        /// Seed of the generated data (the same seed gives the same data).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Bearer token callers must send.
        #[arg(long, default_value = "mock-upstream-token")]
        token: String,
        /// Largest page served, whatever pageSize asks.
        #[arg(long, default_value_t = 50)]
        page_cap: u64,
        /// Delay before every answer, in milliseconds.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// Client id the token endpoint (/connect/token) accepts.
        #[arg(long)]
        client_id: Option<String>,
        /// Client secret the token endpoint accepts (with --client-id).
        #[arg(long, requires = "client_id")]
        client_secret: Option<String>,
        /// PEM certificate whose key may sign client assertions (with --client-id).
        #[arg(long, requires = "client_id")]
        client_cert: Option<PathBuf>,
        /// Scopes granted to the client (space-separated); a request for any other is refused
        /// with invalid_scope.
        #[arg(long, default_value = mock_upstream::READ_PERMISSIONS)]
        client_scope: String,
        /// Lifetime of issued tokens, in seconds (their expires_in).
        #[arg(long, default_value_t = 3600)]
        token_lifetime_secs: u64,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// Apply every start-up rule that needs no network, print the effective settings
    /// (secrets as `<set>`), and exit non-zero with `serve`'s one-line error if one fails.
    Check {
        /// A TOML settings file; GATEWAY_* environment variables override it.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

/// Runs the chosen command to completion.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Schema => {
            print!("{}", graphql::sdl());
            Ok(())
        }
        Command::Config {
            action: ConfigAction::Check { config },
        } => config_check(config.as_deref()).await,
        Command::Serve {
            config,
            demo: false,
        } => {
            let settings = Settings::load(config.as_deref(), |name| std::env::var(name).ok())?;
            let telemetry = telemetry::init(&settings.telemetry)?;
            let served = serve(settings).await;
            telemetry.shutdown();
            served
        }
        Command::Serve { demo: true, .. } => {
            let telemetry = telemetry::init(&env_telemetry()?)?;
            let served = serve_demo().await;
            telemetry.shutdown();
            served
        }
        Command::MockUpstream {
            listen,
            customers,
            products_per_customer,
            seed,
            token,
            page_cap,
            latency_ms,
            client_id,
            client_secret,
            client_cert,
            client_scope,
            token_lifetime_secs,
        } => {
            let telemetry = telemetry::init(&env_telemetry()?)?;
            let certificate_pem = client_cert
                .map(|path| {
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("--client-cert: cannot read {}", path.display()))
                })
                .transpose()?;
            let client = client_id.map(|client_id| MockClient {
                client_id,
                secret: client_secret,
                certificate_pem,
                scope: client_scope,
            });
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("--listen: cannot listen on {listen}"))?;
            let addr = listener.local_addr()?;
            println!(
                "mock upstream listening on http://{addr} (token: {token}; token endpoint: http://{addr}{TOKEN_PATH})"
            );
            let options = MockOptions {
                customers,
                products_per_customer,
                seed,
                token,
                client,
                token_lifetime: Duration::from_secs(token_lifetime_secs),
                page_cap,
                latency: Duration::from_millis(latency_ms),
            };
            mock_upstream::serve(listener, options, shutdown_signal()).await?;
            telemetry.shutdown();
            Ok(())
        }
    }
}

/// `config check`: every start-up rule that needs no network, then the settings written and
/// their effective values (secrets as `<set>`).
async fn config_check(config: Option<&std::path::Path>) -> anyhow::Result<()> {
    let env = |name: &str| std::env::var(name).ok();
    let settings = Settings::load(config, env)?;
    check::offline(&settings).await?;
    let written = Settings::written(config, env)?;
    println!("{}", check::report(&written, &settings));
    println!("configuration OK: every start-up rule that needs no network holds");
    Ok(())
}

/// Logging settings from `GATEWAY_LOG_*` and `GATEWAY_TRACING_*` alone, for the commands that
/// read no other settings.
fn env_telemetry() -> anyhow::Result<TelemetrySettings> {
    Ok(TelemetrySettings::from_env(|name| {
        std::env::var(name).ok()
    })?)
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let app = Application::build(settings).await?;
    println!(
        "elements-gateway listening on http://{}/graphql",
        app.local_addr()
    );
    app.run_until_stopped(shutdown_signal()).await?;
    Ok(())
}

async fn serve_demo() -> anyhow::Result<()> {
    let demo = demo::start(|name| std::env::var(name).ok()).await?;
    let app = Application::build(demo.settings)
        .await?
        .with_demo_token(demo.caller_token.clone());
    let url = format!("http://{}/graphql", app.local_addr());
    println!(
        "elements-gateway demo: sample upstream at {}",
        demo.upstream.url()
    );
    println!("elements-gateway listening on {url}");
    println!();
    println!("Open {url} in a browser (GraphiQL) and put this in its Headers tab:");
    println!("  {{\"Authorization\": \"Bearer {}\"}}", demo.caller_token);
    println!();
    println!("Or from a shell:");
    println!(
        "  curl -s {url} -H 'Authorization: Bearer {}' -H 'Content-Type: application/json' \\\n    -d '{{\"query\":\"{{ customers(first: 3) {{ totalCount nodes {{ id organization }} }} }}\"}}'",
        demo.caller_token
    );
    println!();
    println!("Authorization: Bearer {}", demo.caller_token);
    app.run_until_stopped(shutdown_signal()).await?;
    Ok(())
}

/// Completes on ctrl-c or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
