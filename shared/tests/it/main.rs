//! shared's integration tests, one binary: the platform parsers' fuzz targets and the identity
//! corpus through the rule chain, both in-process and pure (no AWS, no Salesforce). Select one by
//! module path, e.g. `cargo test -p shared --test it fuzz_parsers::` (`make fuzz`).

mod corpus;
mod fuzz_parsers;
mod identity_corpus;
mod salesforce_metadata;
