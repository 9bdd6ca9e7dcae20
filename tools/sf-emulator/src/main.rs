//! `sf-emulator --port 8787 --seed FILE`: the Salesforce emulator as a local server.

use clap::Parser;
use sf_emulator::{Emulator, EmulatorConfig};
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "A local Salesforce REST API emulator")]
struct Args {
    /// Port to listen on (127.0.0.1).
    #[arg(long, default_value_t = 8787)]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// JSON file in the admin seed format: {"Lead": [{field: value}], …}.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Salesforce CLI project with custom fields/objects, read at start (default: the repo's
    /// salesforce/ as built into this binary).
    #[arg(long)]
    metadata: Option<PathBuf>,
    /// PEM certificate (or RSA public key) that verifies JWT bearer assertions.
    #[arg(long, env = "SF_EMULATOR_JWT_PUBLIC_KEY")]
    jwt_public_key: Option<PathBuf>,
    /// Records per query page.
    #[arg(long, default_value_t = 2000)]
    batch_size: usize,
    /// Daily API allowance.
    #[arg(long, default_value_t = 100_000)]
    daily_api_limit: u64,
    /// Access token lifetime in seconds.
    #[arg(long, default_value_t = 7200)]
    token_lifetime_secs: u64,
    /// Issue a new refresh token on every refresh.
    #[arg(long)]
    rotate_refresh_tokens: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    // Errors in words (a returned error would be printed with Debug).
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sf-emulator: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut config = EmulatorConfig {
        query_batch_size: args.batch_size.max(1),
        daily_api_limit: args.daily_api_limit,
        token_lifetime: std::time::Duration::from_secs(args.token_lifetime_secs),
        rotate_refresh_tokens: args.rotate_refresh_tokens,
        ..EmulatorConfig::default()
    };
    if let Some(dir) = args.metadata {
        config.metadata_dir = Some(dir);
    }
    if let Some(path) = args.jwt_public_key {
        config.jwt_public_key_pem = Some(std::fs::read_to_string(&path)?);
    }
    if let Some(path) = args.seed {
        let text = std::fs::read_to_string(&path)?;
        config.seed = Some(serde_json::from_str(&text)?);
    }
    let emulator = Emulator::new(config)?;
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await?;
    tracing::info!(addr = %listener.local_addr()?, "sf-emulator listening");
    sf_emulator::serve(listener, emulator).await?;
    Ok(())
}
