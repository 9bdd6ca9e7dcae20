//! `make demo`'s own outcome check: what the replayed payloads should have produced in the
//! emulated org, what did, and whether anything was set aside. A demo that prints an empty org
//! and exits 0 hides a broken stack (issue 12), so the judgment is explicit and tested here.

use crate::host::queue_depth;
use crate::stack::Plan;
use shared::mapping::plan::{case_key, part_key};
use shared::mapping::policy::CaseTrigger;
use shared::platforms::{self, Platform};
use shared::store::synclog::{Logged, SyncLogTable};
use shared::synclog::{Outcome, UNREADABLE_TENANT};
use shared::tenant::TenantConfig;
use std::collections::{BTreeMap, BTreeSet};

/// One conversation the replayed payloads carry, and what the tenant's policy makes of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedConversation {
    /// `tenant:platform:conversation`: the Case's Chat_Conversation_Id__c.
    pub key: String,
    /// The first transcript Task's Chat_Transcript_Key__c (`key#1`).
    pub task_key: String,
    /// The payload files that carry it.
    pub payloads: Vec<String>,
    /// A Case keyed by the conversation. Only judged when the policy says so for certain:
    /// tag triggers depend on the tags' history, and a reused open Case has another key.
    pub case: bool,
}

/// The conversations the writer is sent when `payloads` (file name, platform, body) are
/// delivered to the tenant: events of accepted deliveries that carry a conversation, on the
/// tenant's platforms. The writer makes a transcript Task for every one of them.
pub fn expected_conversations(
    config: &TenantConfig,
    payloads: &[(String, Platform, Vec<u8>)],
) -> Vec<ExpectedConversation> {
    let case =
        config.case.trigger(config.mode) == CaseTrigger::Always && !config.case.reuse_open_case;
    let mut by_key: BTreeMap<String, ExpectedConversation> = BTreeMap::new();
    for (name, platform, body) in payloads {
        if !config.platforms.contains(platform) {
            continue;
        }
        let Some(accepted) = platforms::parse(*platform, body)
            .ok()
            .and_then(|p| p.accepted())
        else {
            continue;
        };
        for event in &accepted.events {
            let Some(conversation) = &event.conversation else {
                continue;
            };
            // As the writer names it: the conversation's id, else the delivery's queue key.
            let id = if conversation.id.is_empty() {
                &accepted.conversation_key
            } else {
                &conversation.id
            };
            let key = case_key(&config.tenant_id, *platform, id);
            let entry = by_key
                .entry(key.clone())
                .or_insert_with(|| ExpectedConversation {
                    task_key: part_key(&key, 1),
                    key,
                    payloads: Vec::new(),
                    case,
                });
            if !entry.payloads.contains(name) {
                entry.payloads.push(name.clone());
            }
        }
    }
    by_key.into_values().collect()
}

/// What the demo run produced, as gathered after the pipeline drained.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub expected: Vec<ExpectedConversation>,
    /// Chat_Conversation_Id__c of every Case in the org.
    pub case_keys: BTreeSet<String>,
    /// Chat_Transcript_Key__c of every Task in the org.
    pub task_keys: BTreeSet<String>,
    /// Signed deliveries the intake answered with an error: (file and attempt, status).
    pub refused: Vec<(String, u16)>,
    /// The intake's answer to the forged delivery.
    pub forged_status: u16,
    /// Parked sync log entries (review items), in words.
    pub parked: Vec<String>,
    /// Messages left on the dead-letter queues after the drainer ran.
    pub dead_letters: usize,
    pub invocation_errors: usize,
    /// What the Salesforce → chat step saw on the chat platforms; None: it did not run.
    pub to_chat: Option<ToChat>,
}

/// The Salesforce → chat step: a Contact created in Salesforce, a Lead qualified there.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToChat {
    /// The tag an auto-created contact gets (`from_salesforce.auto_create_tag`).
    pub tag: String,
    /// Per platform the Contact should reach: (platform, contacts with its e-mail, tagged).
    pub contact: Vec<(String, usize, bool)>,
    /// The Intercom attribute the qualified Lead should set: (name, wanted value, value seen).
    pub lead_attribute: (String, String, Option<String>),
}

/// Whether a chat emulator contact carries `tag`: Intercom lists `{tags: {data: [{name}]}}`,
/// respond.io `{tags: [name]}`.
pub fn tagged(contact: &serde_json::Value, tag: &str) -> bool {
    let intercom = contact["tags"]["data"]
        .as_array()
        .is_some_and(|t| t.iter().any(|t| t["name"] == tag));
    let respondio = contact["tags"]
        .as_array()
        .is_some_and(|t| t.iter().any(|t| t == tag));
    intercom || respondio
}

fn judge_to_chat(to_chat: Option<&ToChat>, problems: &mut Vec<String>) -> String {
    let Some(seen) = to_chat else {
        problems.push("the Salesforce → chat step did not run".to_owned());
        return "Salesforce → chat      not run".to_owned();
    };
    let mut reached = Vec::new();
    for (platform, count, tagged) in &seen.contact {
        match (count, tagged) {
            (1, true) => reached.push(platform.as_str()),
            (1, false) => problems.push(format!(
                "the Salesforce Contact reached {platform} without the tag {:?}",
                seen.tag
            )),
            (n, _) => problems.push(format!(
                "the Salesforce Contact is on {platform} {n} times, not once"
            )),
        }
    }
    if seen.contact.is_empty() {
        problems.push("no chat platform to send the Salesforce Contact to".to_owned());
    }
    let (name, wanted, got) = &seen.lead_attribute;
    if got.as_deref() != Some(wanted.as_str()) {
        problems.push(format!(
            "the qualified Lead set Intercom's {name} to {got:?}, not {wanted:?}"
        ));
    }
    format!(
        "Salesforce → chat       Contact on {} tagged {:?}; Lead qualified: Intercom {name} = {got:?}",
        if reached.is_empty() {
            "no platform".to_owned()
        } else {
            reached.join(" and ")
        },
        seen.tag,
    )
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// What was checked, one line each, for the demo's output.
    pub summary: Vec<String>,
    /// Why the demo failed; empty when it passed.
    pub problems: Vec<String>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Judges a demo run. It passes when every expected conversation landed as its Case and Task,
/// every signed delivery was taken, the forged one was refused, and nothing was parked, left on
/// a dead-letter queue or failed.
pub fn judge(facts: &Facts) -> Verdict {
    let mut problems = Vec::new();
    let expected = &facts.expected;
    if expected.is_empty() {
        problems.push(
            "the replayed payloads hold no conversation the tenant writes: the demo proves nothing"
                .to_owned(),
        );
    }
    let wanting_case: Vec<&ExpectedConversation> = expected.iter().filter(|c| c.case).collect();
    let no_case: Vec<&str> = wanting_case
        .iter()
        .filter(|c| !facts.case_keys.contains(&c.key))
        .map(|c| c.key.as_str())
        .collect();
    let no_task: Vec<&str> = expected
        .iter()
        .filter(|c| !facts.task_keys.contains(&c.task_key))
        .map(|c| c.key.as_str())
        .collect();
    if !no_case.is_empty() {
        problems.push(format!(
            "no Case landed for {} of {} conversations: {}",
            no_case.len(),
            wanting_case.len(),
            few(&no_case)
        ));
    }
    if !no_task.is_empty() {
        problems.push(format!(
            "no transcript Task landed for {} of {} conversations: {}",
            no_task.len(),
            expected.len(),
            few(&no_task)
        ));
    }
    for (what, status) in &facts.refused {
        problems.push(format!(
            "signed delivery {what} was refused at intake ({status})"
        ));
    }
    let forged_refused = (400..500).contains(&facts.forged_status);
    if !forged_refused {
        problems.push(format!(
            "the forged delivery was answered {}, not refused",
            facts.forged_status
        ));
    }
    if let Some(first) = facts.parked.first() {
        problems.push(format!(
            "{} sync log entries parked for review, the first: {first}",
            facts.parked.len()
        ));
    }
    if facts.dead_letters > 0 {
        problems.push(format!(
            "{} messages left on the dead-letter queues",
            facts.dead_letters
        ));
    }
    if facts.invocation_errors > 0 {
        problems.push(format!(
            "{} function invocations failed",
            facts.invocation_errors
        ));
    }
    let to_chat = judge_to_chat(facts.to_chat.as_ref(), &mut problems);
    let summary = vec![
        format!(
            "conversations replayed  {} (from {} payloads)",
            expected.len(),
            expected
                .iter()
                .flat_map(|c| &c.payloads)
                .collect::<BTreeSet<_>>()
                .len()
        ),
        format!(
            "Cases landed            {} of {} expected ({} in the org)",
            wanting_case.len() - no_case.len(),
            wanting_case.len(),
            facts.case_keys.len()
        ),
        format!(
            "Tasks landed            {} of {} expected ({} in the org)",
            expected.len() - no_task.len(),
            expected.len(),
            facts.task_keys.len()
        ),
        format!(
            "intake                  {} signed deliveries refused; forged delivery {} ({})",
            facts.refused.len(),
            if forged_refused {
                "refused, as expected"
            } else {
                "NOT refused"
            },
            facts.forged_status
        ),
        format!(
            "set aside               {} parked, {} dead letters, {} failed invocations",
            facts.parked.len(),
            facts.dead_letters,
            facts.invocation_errors
        ),
        to_chat,
    ];
    Verdict { summary, problems }
}

/// The first few items, then how many more.
fn few(items: &[&str]) -> String {
    const SHOWN: usize = 5;
    let mut out = items
        .iter()
        .take(SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join("; ");
    if items.len() > SHOWN {
        out.push_str(&format!("; and {} more", items.len() - SHOWN));
    }
    out
}

/// Values of `field` on the records the emulator's admin API lists.
pub fn field_values(records: &[serde_json::Value], field: &str) -> BTreeSet<String> {
    records
        .iter()
        .filter_map(|r| r.get(field).and_then(|v| v.as_str()))
        .map(str::to_owned)
        .collect()
}

/// Parked entries in the trails of `correlation_ids` and open ones of the tenant (and of
/// unreadable messages), each once.
pub async fn parked_entries(
    log: &SyncLogTable,
    tenant_id: &str,
    correlation_ids: &[String],
) -> Result<Vec<String>, shared::store::StoreError> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut note = |logged: Logged| {
        if logged.outcome == Outcome::Parked
            && seen.insert((logged.correlation_id.clone(), logged.sk.clone()))
        {
            out.push(format!(
                "{:?} {}: {}",
                logged.step, logged.correlation_id, logged.detail
            ));
        }
    };
    for id in correlation_ids {
        log.trail(id).await?.into_iter().for_each(&mut note);
    }
    for tenant in [tenant_id, UNREADABLE_TENANT] {
        log.open(tenant, 100).await?.into_iter().for_each(&mut note);
    }
    Ok(out)
}

/// Messages on the plan's dead-letter queues (those a queue's redrive policy names).
pub async fn dead_letters(plan: &Plan, sqs: &aws_sdk_sqs::Client) -> Result<usize, String> {
    let dlqs: BTreeSet<&str> = plan
        .queues
        .iter()
        .filter_map(|q| q.redrive.as_ref().map(|(dlq, _)| dlq.as_str()))
        .collect();
    let mut total = 0;
    for q in plan
        .queues
        .iter()
        .filter(|q| dlqs.contains(q.logical_id.as_str()))
    {
        total += queue_depth(sqs, &q.url)
            .await
            .map_err(|e| format!("{}: {e}", q.name))?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn conversation(key: &str) -> ExpectedConversation {
        ExpectedConversation {
            key: key.to_owned(),
            task_key: format!("{key}#1"),
            payloads: vec![format!("{key}.json")],
            case: true,
        }
    }

    /// Two conversations, both landed as Case and Task, the forged delivery refused.
    fn good_run() -> Facts {
        let keys: BTreeSet<String> = ["demo:intercom:1", "demo:tidio:2"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        Facts {
            expected: keys.iter().map(|k| conversation(k)).collect(),
            task_keys: keys.iter().map(|k| format!("{k}#1")).collect(),
            case_keys: keys,
            forged_status: 401,
            to_chat: Some(ToChat {
                tag: "Auto-Create: Salesforce".into(),
                contact: vec![("intercom".into(), 1, true), ("respondio".into(), 1, true)],
                lead_attribute: (
                    "lifecycle".into(),
                    "hot lead".into(),
                    Some("hot lead".into()),
                ),
            }),
            ..Facts::default()
        }
    }

    #[test]
    fn salesforce_to_chat_must_reach_each_platform_once_tagged_and_set_the_attribute() {
        let mut run = good_run();
        let seen = run.to_chat.as_mut().expect("to_chat");
        seen.contact = vec![("intercom".into(), 2, true), ("respondio".into(), 1, false)];
        seen.lead_attribute.2 = None;
        let verdict = judge(&run);
        assert_eq!(verdict.problems.len(), 3, "{:?}", verdict.problems);
        assert!(verdict.problems[0].contains("intercom 2 times"));
        assert!(verdict.problems[1].contains("without the tag"));
        assert!(verdict.problems[2].contains("lifecycle"));
        run.to_chat = None;
        assert!(
            judge(&run)
                .problems
                .iter()
                .any(|p| p.contains("did not run"))
        );
    }

    #[test]
    fn tags_are_read_in_both_platforms_shapes() {
        let intercom = serde_json::json!({"tags": {"data": [{"name": "a"}]}});
        let respondio = serde_json::json!({"tags": ["a"]});
        assert!(tagged(&intercom, "a") && tagged(&respondio, "a"));
        assert!(!tagged(&intercom, "b") && !tagged(&serde_json::json!({}), "a"));
    }

    #[test]
    fn a_demo_whose_conversations_all_landed_passes() {
        let verdict = judge(&good_run());
        assert!(verdict.passed(), "{:?}", verdict.problems);
    }

    #[test]
    fn the_forged_deliverys_refusal_is_expected() {
        let verdict = judge(&good_run());
        assert!(
            verdict
                .summary
                .iter()
                .any(|l| l.contains("refused, as expected"))
        );
        let accepted = judge(&Facts {
            forged_status: 202,
            ..good_run()
        });
        assert!(!accepted.passed());
    }

    #[test]
    fn a_demo_whose_writes_were_all_parked_fails() {
        let verdict = judge(&Facts {
            case_keys: BTreeSet::new(),
            task_keys: BTreeSet::new(),
            parked: vec![
                "Write c1: Provided external ID field does not exist or is not accessible: Chat_Conversation_Id__c".into(),
                "Write c2: Provided external ID field does not exist or is not accessible: Chat_Conversation_Id__c".into(),
            ],
            ..good_run()
        });
        assert!(!verdict.passed());
        assert!(
            verdict
                .problems
                .iter()
                .any(|p| p.contains("2 sync log entries parked"))
        );
        assert!(
            verdict
                .problems
                .iter()
                .any(|p| p.starts_with("no Case landed for 2 of 2"))
        );
    }

    #[test]
    fn no_case_landed_fails() {
        let verdict = judge(&Facts {
            case_keys: BTreeSet::new(),
            ..good_run()
        });
        assert_eq!(
            verdict.problems,
            vec!["no Case landed for 2 of 2 conversations: demo:intercom:1; demo:tidio:2"]
        );
    }

    #[test]
    fn one_conversation_without_its_task_fails() {
        let mut facts = good_run();
        facts.task_keys.remove("demo:tidio:2#1");
        let verdict = judge(&facts);
        assert_eq!(
            verdict.problems,
            vec!["no transcript Task landed for 1 of 2 conversations: demo:tidio:2"]
        );
    }

    #[test]
    fn cases_of_other_conversations_do_not_count() {
        let verdict = judge(&Facts {
            case_keys: ["demo:intercom:elsewhere".to_owned()].into(),
            ..good_run()
        });
        assert!(!verdict.passed());
    }

    #[test]
    fn a_case_is_not_required_where_the_policy_may_not_make_one() {
        let mut facts = good_run();
        for c in &mut facts.expected {
            c.case = false;
        }
        facts.case_keys.clear();
        assert!(judge(&facts).passed());
    }

    #[test]
    fn dead_letters_failed_invocations_and_refused_signed_deliveries_fail() {
        for facts in [
            Facts {
                dead_letters: 1,
                ..good_run()
            },
            Facts {
                invocation_errors: 1,
                ..good_run()
            },
            Facts {
                refused: vec![("tidio-contact-created.json first".into(), 401)],
                ..good_run()
            },
        ] {
            assert!(!judge(&facts).passed(), "{facts:?}");
        }
    }

    #[test]
    fn a_demo_with_nothing_to_expect_fails() {
        let verdict = judge(&Facts {
            forged_status: 401,
            ..Facts::default()
        });
        assert!(!verdict.passed());
    }

    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    fn demo_payloads() -> Vec<(String, Platform, Vec<u8>)> {
        let mut out = Vec::new();
        let dir = repo().join("events/payloads");
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let (Some(platform), Ok(body)) = (
                crate::events::platform_of(&name),
                std::fs::read(entry.path()),
            ) {
                out.push((name, platform, body));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    #[test]
    fn the_demo_payloads_expect_a_case_and_task_per_conversation_on_every_platform() {
        let tenant = crate::session::read_tenant(&repo().join("events/tenants/demo.toml"));
        let Ok(tenant) = tenant else {
            panic!("demo tenant: {tenant:?}");
        };
        let expected = expected_conversations(&tenant.config, &demo_payloads());
        assert!(expected.iter().all(|c| c.case));
        for platform in Platform::ALL {
            let prefix = format!("demo:{platform}:");
            assert!(
                expected.iter().any(|c| c.key.starts_with(&prefix)),
                "no {platform} conversation in {expected:?}"
            );
        }
        // Contact-only deliveries and pings carry no conversation.
        let carried: BTreeSet<&str> = expected
            .iter()
            .flat_map(|c| &c.payloads)
            .map(String::as_str)
            .collect();
        for name in ["intercom-ping.json", "tidio-contact-created.json"] {
            assert!(!carried.contains(name), "{name} in {expected:?}");
        }
        // Nothing landed: the check fails on the real expectation.
        let verdict = judge(&Facts {
            expected,
            forged_status: 401,
            ..Facts::default()
        });
        assert!(!verdict.passed());
    }

    #[test]
    fn platforms_the_tenant_does_not_take_are_not_expected() {
        let tenant = crate::session::read_tenant(&repo().join("events/tenants/demo.toml"));
        let Ok(mut tenant) = tenant else {
            panic!("demo tenant: {tenant:?}");
        };
        tenant.config.platforms = vec![Platform::Tidio];
        let expected = expected_conversations(&tenant.config, &demo_payloads());
        assert!(!expected.is_empty());
        assert!(expected.iter().all(|c| c.key.starts_with("demo:tidio:")));
    }
}
