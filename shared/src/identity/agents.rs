//! Agents and teams named by id only (Tidio operators, CloudCX agents, Intercom admins in some
//! shapes; Intercom teams, which its webhooks name by id only):
//! the owner of a Case is the User with the agent's e-mail, so an e-mail is found for each id,
//! from the tenant's `owners.agents_by_id` first, else the platform's API (the resolver asks
//! through [`super::enrich::Enricher::agent`]). Pure: which agents lack an e-mail, and
//! filling them in.

use crate::event::{Agent, Event, EventKind, Platform, Role, Team};
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

/// The teams of the event named by id only (an assignment's team, the conversation's inbox),
/// whose names a Queue map by name needs: their ids, without repeats.
pub fn unnamed_teams(event: &mut Event) -> Vec<String> {
    let mut ids: Vec<String> = teams_mut(event)
        .into_iter()
        .filter_map(|t| t.id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Names each team named by id only with what `name_of` knows; how many were named.
pub fn name_teams(event: &mut Event, mut name_of: impl FnMut(&str) -> Option<String>) -> usize {
    let mut named = 0;
    for team in teams_mut(event) {
        if let Some(name) = team.id.as_deref().and_then(&mut name_of) {
            team.name = Some(name);
            named += 1;
        }
    }
    named
}

fn teams_mut(event: &mut Event) -> Vec<&mut Team> {
    let mut out: Vec<&mut Team> = Vec::new();
    if let EventKind::Assigned {
        team: Some(team), ..
    } = &mut event.kind
    {
        out.push(team);
    }
    if let Some(inbox) = event.conversation.as_mut().and_then(|c| c.inbox.as_mut()) {
        out.push(inbox);
    }
    out.retain(|t| {
        t.name.as_deref().is_none_or(|n| n.trim().is_empty())
            && t.id.as_deref().is_some_and(|id| !id.trim().is_empty())
    });
    out
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
    use crate::event::{Conversation, Message};

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

    #[test]
    fn teams_named_by_id_get_their_names_and_named_ones_stay() {
        let team = |id: &str, name: Option<&str>| Team {
            id: Some(id.into()),
            name: name.map(Into::into),
        };
        let mut assigned = Event::new(EventKind::Assigned {
            agent: None,
            team: Some(team("5550123", None)),
        });
        assigned.conversation = Some(Conversation {
            inbox: Some(team("5550123", None)),
            ..Conversation::default()
        });
        assert_eq!(unnamed_teams(&mut assigned), vec!["5550123"]);
        let named = name_teams(&mut assigned, |id| {
            (id == "5550123").then(|| "Billing team".into())
        });
        assert_eq!(named, 2);
        assert!(unnamed_teams(&mut assigned).is_empty());
        let mut known = Event::new(EventKind::Assigned {
            agent: None,
            team: Some(team("7", Some("Sales"))),
        });
        assert!(unnamed_teams(&mut known).is_empty());
    }
}
