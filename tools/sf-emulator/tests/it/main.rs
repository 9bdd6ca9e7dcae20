//! The emulator's integration tests, one binary: each module starts its own emulator in-process
//! on 127.0.0.1:0. Select a group by module path, e.g. `cargo test -p sf-emulator --test it query::`.
//! The conformance suite against captured Salesforce answers is its own target (`make conformance`).

mod auth;
mod common;
mod composite;
mod conditional;
mod fault_suite;
mod files;
mod limits_admin;
mod objects;
mod query;
mod replication;
mod robustness;
mod sobjects;
mod transcripts;
mod validation_rules;
mod writer_queries;
