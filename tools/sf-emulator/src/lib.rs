//! A local Salesforce REST API emulator, as strict as the real API for everything chatsync sends:
//! OAuth token grants, sObject CRUD and upsert, describe, SOQL and SOSL, composite and sObject
//! Collections, limits and their headers, plus an admin API (`/__emulator/…`) for tests.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let emulator = sf_emulator::Emulator::new(sf_emulator::EmulatorConfig::default())?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let base_url = sf_emulator::spawn(listener, emulator.clone())?;
//! let session = emulator.session(); // {"access_token", "instance_url", …}
//! # let _ = (base_url, session); Ok(()) }
//! ```

mod admin;
mod collections;
mod composite;
mod conditional;
mod conn;
mod datetime;
mod dml;
mod errors;
mod faults;
mod ids;
mod limits;
mod metadata;
mod oauth;
mod outbound;
mod rest;
mod schema;
mod server;
mod soql;
mod sosl;
mod state;
mod store;
mod upsert;
mod validation;

pub use dml::DuplicateRule;
pub use errors::ApiError;
pub use metadata::MetadataError;
pub use server::router;
pub use state::{API_VERSION, Emulator, EmulatorConfig, EmulatorError};

/// Serves the emulator on `listener` until the task is dropped or the process ends. The org's
/// `instance_url` (and default JWT audience) becomes `http://<listener address>`.
pub async fn serve(listener: tokio::net::TcpListener, emulator: Emulator) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    emulator.lock().instance_url = format!("http://{addr}");
    outbound::start_sender(emulator.clone(), OUTBOUND_TICK);
    axum::serve(listener_for(listener), service(emulator)).await
}

/// Connections the DROP fault can close without answering.
fn listener_for(listener: tokio::net::TcpListener) -> conn::DroppableListener {
    conn::DroppableListener(listener)
}

fn service(
    emulator: Emulator,
) -> axum::extract::connect_info::IntoMakeServiceWithConnectInfo<axum::Router, conn::DropSwitch> {
    router(emulator).into_make_service_with_connect_info::<conn::DropSwitch>()
}

/// How often the outbound message sender looks for due notifications.
const OUTBOUND_TICK: std::time::Duration = std::time::Duration::from_millis(20);

/// Starts [`serve`] on a background task and returns the base URL, for tests.
pub fn spawn(listener: tokio::net::TcpListener, emulator: Emulator) -> std::io::Result<String> {
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");
    emulator.lock().instance_url = base.clone();
    outbound::start_sender(emulator.clone(), OUTBOUND_TICK);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener_for(listener), service(emulator)).await {
            tracing::error!(error = %e, "sf-emulator stopped");
        }
    });
    Ok(base)
}
