//! `chatsync resolve`: an operator settles an ambiguous identity review item.

use crate::Context;
use crate::failure::Failure;
use shared::event::QueuedEvent;
use shared::identity::Keys;
use shared::identity::rules::{Person, PersonKind};
use shared::store::links::{LinkKey, Links};
use shared::synclog::{Outcome, Stage, Step, SyncLogEntry};

pub(crate) async fn run(ctx: &Context, review_id: &str, choose: &str) -> Result<(), Failure> {
    let log = ctx.sync_log()?;
    let trail = log.trail(review_id).await?;
    let is_review = |e: &&shared::store::synclog::Logged| {
        e.step == Step::Resolve && e.outcome == Outcome::Parked
    };
    // The open item when there is one; a settled one may be settled again (a wrong choice).
    let parked = trail
        .iter()
        .rev()
        .filter(is_review)
        .find(|e| e.open)
        .or_else(|| trail.iter().rev().find(is_review))
        .ok_or_else(|| Failure::NotFound(format!("review item {review_id}")))?;
    let payload = parked.payload.as_deref().ok_or_else(|| {
        Failure::Other(format!("review item {review_id} holds no event to replay"))
    })?;
    let sealer = ctx.sealer()?;
    let mut event: QueuedEvent = sealer.open(payload).await?;
    let kind = match choose.get(..3) {
        Some("003") => PersonKind::Contact,
        Some("00Q") => PersonKind::Lead,
        _ => {
            return Err(Failure::Usage(format!(
                "{choose} is not a Contact (003…) or Lead (00Q…) Id"
            )));
        }
    };
    let config = ctx
        .tenants()?
        .get(&event.tenant_id)
        .await?
        .ok_or_else(|| Failure::NotFound(format!("tenant {}", event.tenant_id)))?;
    let policy = &config.identity;
    let keys = Keys::from_visitor(&event.event.visitor, &policy.default_phone_region);
    let link_keys = LinkKey::linkable(event.platform, &keys, &policy.match_order);
    if link_keys.is_empty() {
        return Err(Failure::Other(
            "the event names no key to link (no platform contact, e-mail or phone)".into(),
        ));
    }
    let person = Person {
        kind,
        id: choose.to_owned(),
        account_id: None,
    };
    let now = time::OffsetDateTime::now_utc();
    Links::new(ctx.dynamo(), ctx.links_table()?)
        .put(
            &event.tenant_id,
            &link_keys,
            &person,
            policy.link_ttl_days,
            now,
        )
        .await?;
    // Queued again in its conversation's group; the resolver now finds the link.
    event.resolution = None;
    let dedupe = format!("{}#chosen#{choose}", event.dedupe_id());
    ctx.queue(Stage::Resolve)?
        .send(
            &event.group_id(),
            &sha256_hex(&dedupe),
            &sealer.seal(&event).await?,
        )
        .await?;
    let mut entry = SyncLogEntry::new(
        review_id,
        &event.tenant_id,
        event.platform,
        Step::Replay,
        Outcome::Ok,
        format!(
            "operator chose {} {choose}; {} link(s) written; queued again for resolve",
            kind.sobject(),
            link_keys.len()
        ),
    )
    .topic(&event.topic);
    entry.records = vec![choose.to_owned()];
    log.append(&entry, config.retention_days).await?;
    // Settled: out of `chatsync errors`. Already closed (a second choice) is fine.
    log.close(parked, "chatsync resolve").await?;
    if ctx.json {
        println!(
            "{}",
            serde_json::json!({"review_id": review_id, "chosen": choose, "links": link_keys.len()})
        );
    } else {
        println!(
            "{review_id}: linked to {} {choose} ({} key(s)) and queued again",
            kind.sobject(),
            link_keys.len()
        );
    }
    Ok(())
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}
