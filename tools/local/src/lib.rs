//! The local stack and function host: AWS resources from template.yaml in moto, and the real
//! function binaries under the Lambda Runtime Interface Emulator with their event sources wired
//! as the template wires them in AWS.

pub mod demo;
pub mod events;
pub mod host;
pub mod iam;
pub mod procs;
pub mod session;
pub mod stack;
pub mod template;
pub mod tools;
