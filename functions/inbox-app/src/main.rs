use inbox_app::{App, handle};
use lambda_http::{run, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::logging::init();
    let sdk = shared::config::aws().await;
    let app = App::from_env(&sdk, &shared::config::Env::process())?;
    let app = &app;
    run(service_fn(move |request| handle(app, request))).await
}
