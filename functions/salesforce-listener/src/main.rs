use lambda_http::{run, service_fn};
use salesforce_listener::{Listener, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::logging::init();
    let sdk = shared::config::aws().await;
    let listener = Listener::from_env(&sdk, &shared::config::Env::process())?;
    let listener = &listener;
    run(service_fn(move |request| handle(listener, request))).await
}
