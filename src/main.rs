//! The `access-service` binary: parses the command line and runs `serve`
//! (the default), `migrate`, `dev-token`, `hash-key` or `health`.

use clap::Parser;

use access_service::config::{Cli, Command};
use access_service::{App, app, telemetry};

/// mimalloc rather than the system's allocator: see docs/benchmarks.md, "What
/// profiling found to matter".
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Dropped last, when `main` returns: after `run_until_stopped` (the whole
    // shutdown sequence) has ended, so what the drain logs is flushed too.
    let _telemetry = telemetry::init(
        &cli.config.log_filter,
        cli.config.log_format,
        cli.config.trace_sample_ratio,
    );
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = App::build(cli.config).await?;
            app.run_until_stopped(shutdown_signal()).await
        }
        Command::Migrate => app::migrate(&cli.config).await,
        Command::DevToken(args) => app::dev_token(&args),
        Command::HashKey(args) => {
            print!("{}", app::hash_key(&args, &cli.config, std::io::stdin().lock())?);
            Ok(())
        }
        Command::Health(args) => app::health(&args, &cli.config).await,
    }
}

/// Resolves on Ctrl-C or SIGTERM (what Kubernetes sends before killing a pod).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
