//! case-writer: writes each conversation to Salesforce — the Case with its routing fields, the
//! transcript Task(s) (or CaseComments or transcript records) — sending only changed fields.
//!
//! A batch's messages are taken per FIFO group (one conversation), so its events share one
//! composite call. Messages only add transcript lines (kept in DynamoDB) until something else
//! goes out, enough lines gather, or the chat closes.
//!
//! The files, by concern: `group` (one FIFO group: read, write, then the sync log or the retry
//! policy), `conversation` (load → plan → send → decide → save, the decisions being
//! `shared::mapping::outcome`), `recovery` (records a crash left unrecorded), `files` (chat
//! attachments as Salesforce Files), `lookups` (Users, Queues, record types), `transcript`;
//! beneath them `org` (the tenant's org, made on first use), `state` (saving the conversation's
//! state) and `report` (what a write did, for the sync log).

// A function's output is its tracing (JSON lines for CloudWatch), never bare stdout.
#![warn(clippy::print_stdout)]

pub mod attachments;
mod conversation;
mod error;
mod files;
mod group;
mod lookups;
mod org;
mod recovery;
mod report;
mod state;
mod transcript;

pub use error::WriteError;

use aws_config::SdkConfig;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::LambdaEvent;
use shared::batch::{Deadline, process_by_group_within};
use shared::config::{ConfigError, Env, vars};
use shared::consumer::Consumer;
use shared::store::conversations::Conversations;
use shared::store::watermarks::Watermarks;
use std::time::Duration;

pub struct Function {
    kit: Consumer,
    conversations: Conversations,
    watermarks: Watermarks,
    lookups: lookups::LookupCache,
    fetcher: attachments::Fetcher,
}

impl Function {
    pub fn from_env(sdk: &SdkConfig, env: &Env) -> Result<Self, ConfigError> {
        let kit = Consumer::from_env(sdk, env, vars::WRITE_QUEUE_URL)?;
        Ok(Self {
            conversations: Conversations::new(
                kit.dynamo.clone(),
                env.required(vars::CONVERSATIONS_TABLE)?,
            )
            .sealed(kit.sealer.clone()),
            watermarks: Watermarks::new(kit.dynamo.clone(), env.required(vars::WATERMARKS_TABLE)?)
                .sealed(kit.sealer.clone()),
            lookups: lookups::LookupCache::default(),
            fetcher: attachments::Fetcher::from_env(env)?,
            kit,
        })
    }

    /// Salesforce REST calls this warm function has spent (for tests and benchmarks).
    pub fn salesforce_calls(&self) -> u64 {
        self.kit.salesforce_calls()
    }
}

/// The longest one conversation's write may take: Salesforce calls and a few attachment
/// downloads (`attachments::DEFAULT_TIMEOUT` each). A group is started only with this much of
/// the invocation left, so a batch never runs into Lambda's timeout half-written.
pub const GROUP_RESERVE: Duration = Duration::from_secs(25);

pub async fn handle(
    function: &Function,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    // Lambda's deadline; none when invoked without one (tests call the handler directly).
    let deadline = match event.context.deadline {
        0 => Deadline::none(),
        ms => Deadline::from_epoch_ms(ms, GROUP_RESERVE),
    };
    let run = process_by_group_within(
        &event.payload,
        &deadline,
        async |messages: &[&SqsMessage]| group::write_group(function, messages).await,
    )
    .await;
    // Not started: back at once for the next invocation, and no failure of their events.
    let deferred: Vec<&str> = run.deferred.iter().map(String::as_str).collect();
    function.kit.requeue_now(&deferred).await;
    Ok(run.response)
}
