//! The integration and end-to-end suites, one binary. Each module starts what it needs (moto, the
//! Salesforce emulator, the function host with the debug binaries of `cargo build --workspace
//! --bins`) and stops it when done. Select a suite by module path, e.g.
//! `cargo test -p chatsync-tests --test it faults::`.

/// The identity corpus's types and loader, shared with shared's own (pure) corpus run.
#[path = "../../../shared/tests/it/corpus/mod.rs"]
mod corpus;

mod case_writer;
mod case_writer_policies;
mod consumers;
mod faults;
mod iam;
mod identity_corpus;
mod identity_enrich;
mod identity_lookup;
mod identity_resolver;
mod inbox_app;
mod intake;
mod local_stack;
mod mapping_breadth;
mod operator_cli;
mod pipeline;
mod platforms;
mod review_choice;
mod salesforce;
mod salesforce_listener;
mod seal;
mod sync_log;
