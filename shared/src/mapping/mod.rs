//! Tenant config → Salesforce fields (DESIGN §2 `mapping`): the writing policy, what each chat
//! event asks of the Case and Task, the transcript, and the plan of one composite write.

pub mod intents;
pub mod org_check;
pub mod plan;
pub mod policy;
pub mod state;
