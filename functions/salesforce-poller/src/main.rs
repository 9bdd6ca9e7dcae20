#![recursion_limit = "256"]
use aws_lambda_events::cloudwatch_events::CloudWatchEvent;
use lambda_runtime::{LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::logging::init();
    let sdk = shared::config::aws().await;
    let function = salesforce_poller::Function::from_env(&sdk, &shared::config::Env::process())?;
    let function = &function;
    run(service_fn(move |event: LambdaEvent<CloudWatchEvent>| {
        salesforce_poller::handle(function, event)
    }))
    .await
}
