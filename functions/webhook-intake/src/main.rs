use lambda_http::{run, service_fn};
use webhook_intake::{Intake, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::logging::init();
    let sdk = shared::config::aws().await;
    let intake = Intake::from_env(&sdk, &shared::config::Env::process())?;
    let intake = &intake;
    run(service_fn(move |request| handle(intake, request))).await
}
