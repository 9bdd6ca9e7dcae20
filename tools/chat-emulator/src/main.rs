//! `chat-emulator --port 8788 --seed FILE`: the chat platforms' REST APIs as a local server.

use clap::Parser;
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "A local stand-in for the chat platforms' REST APIs")]
struct Args {
    /// Port to listen on.
    #[arg(long, default_value_t = 8788)]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// JSON file in the admin seed format: {"intercom": {"credentials": [..], "contacts": [..]}, …}.
    #[arg(long)]
    seed: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chat-emulator: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let emulator = chat_emulator::Emulator::default();
    if let Some(path) = &args.seed {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("seed {}: {e}", path.display()))?;
        let seed: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("seed {}: {e}", path.display()))?;
        emulator
            .seed(&seed)
            .map_err(|e| format!("seed {}: {e}", path.display()))?;
    }
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await?;
    eprintln!(
        "chat-emulator listening on http://{}",
        listener.local_addr()?
    );
    chat_emulator::serve(listener, emulator).await?;
    Ok(())
}
