//! Agents named by id only (Tidio operators, CloudCX agents, Intercom admins in some shapes):
//! the owner of a Case is the User with the agent's e-mail, so an e-mail is found for each id,
//! from the tenant's `owners.agents_by_id` first, else the platform's API (the resolver asks
//! through [`super::enrich::Enricher::agent`]). Pure: which agents lack an e-mail, and
//! filling them in.

use crate::event::{Agent, Event, EventKind, Platform, Role};
use std::collections::BTreeMap;

/// Every agent of the event that has an id and no e-mail: the actor, the assignee, and a
/// message's author when an agent or a note wrote it.
fn agents_mut(event: &mut Event) -> Vec<&mut Agent> {
    let mut out: Vec<&mut Agent> = Vec::new();
    if let Some(actor) = event.actor.as_mut() {
        out.push(actor);
    }
    match &mut event.kind {
        EventKind::Assigned {
            agent: Some(agent), ..
        } => out.push(agent),
        EventKind::MessageAdded { message } if matches!(message.role, Role::Agent | Role::Note) => {
            if let Some(author) = message.author.as_mut() {
                out.push(author);
            }
        }
        _ => {}
    }
    out.retain(|a| {
        a.email.as_deref().is_none_or(|e| e.trim().is_empty())
            && a.id.as_deref().is_some_and(|id| !id.trim().is_empty())
    });
    out
}

/// The ids of the agents that need an e-mail, without repeats.
pub fn missing(event: &mut Event) -> Vec<String> {
    let mut ids: Vec<String> = agents_mut(event)
        .into_iter()
        .filter_map(|a| a.id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Gives each agent lacking one the e-mail (and, when it has none, the name) `known` has for
/// its id; how many were filled.
pub fn fill(event: &mut Event, mut known: impl FnMut(&str) -> Option<Agent>) -> usize {
    let mut filled = 0;
    for agent in agents_mut(event) {
        let Some(found) = agent.id.as_deref().and_then(&mut known) else {
            continue;
        };
        if let Some(email) = found.email {
            agent.email = Some(email);
            filled += 1;
        }
        if agent.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
            agent.name = found.name;
        }
    }
    filled
}

/// The tenant's own e-mail for `id` on `platform`: the key `<platform>:<id>` (as
/// `tidio:op-1`), else the bare id.
pub fn overridden(map: &BTreeMap<String, String>, platform: Platform, id: &str) -> Option<String> {
    map.get(&format!("{}:{id}", platform.as_str()))
        .or_else(|| map.get(id))
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Message, Team};

    fn agent(id: &str) -> Agent {
        Agent {
            id: Some(id.into()),
            ..Agent::default()
        }
    }

    #[test]
    fn the_actor_assignee_and_agent_authors_get_e_mails_and_known_ones_stay() {
        let mut assigned = Event::new(EventKind::Assigned {
            agent: Some(agent("op-2")),
            team: Some(Team::default()),
        });
        assigned.actor = Some(agent("op-1"));
        assert_eq!(missing(&mut assigned), vec!["op-1", "op-2"]);
        let map = BTreeMap::from([
            ("tidio:op-1".to_owned(), "Sam@Example.com".to_owned()),
            ("op-2".to_owned(), "kim@example.com".to_owned()),
            ("intercom:op-2".to_owned(), "wrong@example.com".to_owned()),
        ]);
        let filled = fill(&mut assigned, |id| {
            overridden(&map, Platform::Tidio, id).map(|email| Agent {
                email: Some(email),
                ..Agent::default()
            })
        });
        assert_eq!(filled, 2);
        assert_eq!(
            assigned.actor.unwrap().email.as_deref(),
            Some("sam@example.com")
        );
        let EventKind::Assigned { agent: Some(a), .. } = &assigned.kind else {
            panic!()
        };
        assert_eq!(a.email.as_deref(), Some("kim@example.com"));

        let said = |role, author: Agent| {
            Event::new(EventKind::MessageAdded {
                message: Message {
                    id: None,
                    role,
                    author: Some(author),
                    body: "hi".into(),
                    format: Default::default(),
                    at: None,
                    attachments: Vec::new(),
                },
            })
        };
        // A visitor's author is the contact, never an agent.
        assert!(missing(&mut said(Role::Visitor, agent("c-1"))).is_empty());
        assert_eq!(missing(&mut said(Role::Note, agent("op-3"))), vec!["op-3"]);
        let known = Agent {
            email: Some("x@example.com".into()),
            ..agent("op-4")
        };
        assert!(missing(&mut said(Role::Agent, known)).is_empty());
        assert_eq!(fill(&mut said(Role::Agent, agent("op-9")), |_| None), 0);
    }
}
