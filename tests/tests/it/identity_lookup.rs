//! The identity lookup against the Salesforce emulator (candidates for every key in ONE API call,
//! phones stored as free text in any format, creation in one call; the agent's User as owner and
//! the visitor's Account in the same call), and the links table against moto (put, get, forget,
//! expiry).

use serde_json::{Value, json};
use sf_emulator::{Emulator, EmulatorConfig};
use shared::event::Visitor;
use shared::identity::Keys;
use shared::identity::create::{CreatePlan, plan_with_account};
use shared::identity::lookup::{Lookup, candidates, create, lookup};
use shared::identity::rules::{Candidate, Person, PersonKind};
use shared::platforms::Platform;
use shared::salesforce::{
    ClientConfig, DiscardTokens, Org, SalesforceClient, SalesforceCredentials,
};
use shared::secret::Secret;
use shared::store::links::{LinkKey, Links};
use shared::tenant::{IdentityPolicy, MatchKey, Mode};
use std::collections::BTreeSet;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

struct Sf {
    base: String,
    emulator: Emulator,
    org: Org,
}

async fn salesforce() -> Sf {
    let config = EmulatorConfig::default();
    let emulator = Emulator::new(config.clone()).expect("emulator config is valid");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = sf_emulator::spawn(listener, emulator.clone()).expect("emulator serves");
    let client = SalesforceClient::new(ClientConfig::default()).unwrap();
    let org = client.org(
        "acme",
        SalesforceCredentials::ClientCredentials {
            login_url: base.clone(),
            client_id: config.client_id.clone(),
            client_secret: Secret::new(config.client_secret.clone()),
        },
        Arc::new(DiscardTokens),
    );
    Sf {
        base,
        emulator,
        org,
    }
}

impl Sf {
    /// API calls the emulator counted so far (`/__emulator/stats`).
    async fn api_calls(&self) -> u64 {
        let stats: Value = reqwest::get(format!("{}/__emulator/stats", self.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        stats["api_calls"].as_u64().expect("api_calls in stats")
    }

    /// Seeds records and returns their ids per sObject, in order.
    fn seed(&self, data: Value) -> Value {
        self.emulator.seed(&data).expect("seed accepted")
    }

    /// Runs the lookup and returns the candidates with the API calls it cost.
    async fn lookup(&self, keys: &Keys, policy: &IdentityPolicy) -> (Vec<Candidate>, u64) {
        let before = self.api_calls().await;
        let found = candidates(&self.org, keys, policy).await.expect("lookup");
        (found, self.api_calls().await - before)
    }

    /// Runs the full lookup (candidates, owner, Account) and returns it with the calls it cost.
    async fn lookup_all(
        &self,
        keys: &Keys,
        policy: &IdentityPolicy,
        agent: Option<&str>,
    ) -> (Lookup, u64) {
        let before = self.api_calls().await;
        let found = lookup(&self.org, keys, policy, agent)
            .await
            .expect("lookup");
        (found, self.api_calls().await - before)
    }

    async fn records(&self, sobject: &str) -> Vec<Value> {
        let all: Value = reqwest::get(format!("{}/__emulator/records/{sobject}", self.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        all.as_array().cloned().unwrap_or_default()
    }

    async fn record(&self, sobject: &str, id: &str) -> Value {
        let all: Value = reqwest::get(format!("{}/__emulator/records/{sobject}", self.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        all.as_array()
            .unwrap()
            .iter()
            .find(|r| r["Id"] == id)
            .cloned()
            .unwrap_or(Value::Null)
    }
}

fn ids(found: &[Candidate]) -> BTreeSet<String> {
    found.iter().map(|c| c.id.clone()).collect()
}

fn id(seeded: &Value, sobject: &str, i: usize) -> String {
    seeded[sobject][i].as_str().unwrap().to_owned()
}

fn policy() -> IdentityPolicy {
    IdentityPolicy {
        external_id_field: Some("Chat_Contact_Id__c".into()),
        ..IdentityPolicy::default()
    }
}

fn email(e: &str) -> Keys {
    Keys {
        email: Some(e.into()),
        ..Keys::default()
    }
}

fn phone(p: &str) -> Keys {
    Keys {
        phone: Some(p.into()),
        ..Keys::default()
    }
}

/// Contacts 0–7 and Leads 0–4; see the comments for what each is for.
fn people() -> Value {
    json!({
        "Contact": [
            // 0: mixed-case e-mail, bracketed national phone.
            {"LastName": "Doe", "Email": "Jane.Doe@Example.COM", "Phone": "(555) 121-1212"},
            // 1–5: the same number written five more ways (mobile field for one).
            {"LastName": "Intl", "MobilePhone": "+1 555 121 1212"},
            {"LastName": "Dots", "Phone": "555.121.1212"},
            {"LastName": "Exit", "Phone": "001-555-121-1212"},
            {"LastName": "Ext", "Phone": "555-121-1212 ext. 7"},
            {"LastName": "Bare", "Phone": "15551211212"},
            // 6: someone else entirely.
            {"LastName": "Other", "Email": "other@example.com", "Phone": "(555) 999-0000"},
            // 7: only the external id.
            {"LastName": "Ext Id", "Chat_Contact_Id__c": "ext-42"},
        ],
        "Lead": [
            // 0: the same e-mail as Contact 0, other case; another phone format.
            {"LastName": "Doe", "Company": "Acme", "Email": "JANE.DOE@example.com", "Phone": "+1-555-121-1212"},
            // 1: only the external id.
            {"LastName": "Ext Id", "Company": "Acme", "Chat_Contact_Id__c": "ext-42"},
            // 2: a UK number with the trunk zero, and with (0).
            {"LastName": "London", "Company": "Acme", "Phone": "020 7946 0958"},
            {"LastName": "London2", "Company": "Acme", "MobilePhone": "+44 (0)20 7946 0958"},
            // 4: someone else.
            {"LastName": "Other", "Company": "Acme", "Email": "nobody@example.org", "Phone": "+44 161 496 0000"},
        ],
    })
}

#[tokio::test]
async fn email_finds_contacts_and_leads_whatever_the_case_in_one_call() {
    let sf = salesforce().await;
    let seeded = sf.seed(people());
    let (found, calls) = sf.lookup(&email("jane.doe@example.com"), &policy()).await;
    assert_eq!(calls, 1);
    assert_eq!(
        ids(&found),
        BTreeSet::from([id(&seeded, "Contact", 0), id(&seeded, "Lead", 0)])
    );
    // Contacts come first, and the fields the rules need are there.
    let contact = &found[0];
    assert_eq!(contact.kind, PersonKind::Contact);
    assert_eq!(contact.email.as_deref(), Some("Jane.Doe@Example.COM"));
    assert_eq!(contact.phones, vec!["(555) 121-1212".to_owned()]);
    let lead = &found[1];
    assert_eq!(lead.kind, PersonKind::Lead);
    assert!(!lead.is_converted);
    let age = OffsetDateTime::now_utc() - lead.last_modified;
    assert!(age >= Duration::ZERO && age < Duration::minutes(5), "{age}");
}

#[tokio::test]
async fn phone_matches_every_way_the_number_is_written() {
    let sf = salesforce().await;
    let seeded = sf.seed(people());
    let (found, calls) = sf.lookup(&phone("+15551211212"), &policy()).await;
    assert_eq!(calls, 1);
    let want: BTreeSet<String> = (0..6)
        .map(|i| id(&seeded, "Contact", i))
        .chain([id(&seeded, "Lead", 0)])
        .collect();
    assert_eq!(ids(&found), want);
    let mobile = found
        .iter()
        .find(|c| c.id == id(&seeded, "Contact", 1))
        .unwrap();
    assert_eq!(mobile.phones, vec!["+1 555 121 1212".to_owned()]);

    // A national number with a trunk zero is found written nationally and internationally.
    let (found, calls) = sf.lookup(&phone("+442079460958"), &policy()).await;
    assert_eq!(calls, 1);
    assert_eq!(
        ids(&found),
        BTreeSet::from([id(&seeded, "Lead", 2), id(&seeded, "Lead", 3)])
    );

    // A number nobody has: one call, nothing found.
    let (found, calls) = sf.lookup(&phone("+15557770000"), &policy()).await;
    assert_eq!((found.len(), calls), (0, 1));
}

#[tokio::test]
async fn external_id_field_matches_on_both_objects() {
    let sf = salesforce().await;
    let seeded = sf.seed(people());
    let keys = Keys {
        external_id: Some("ext-42".into()),
        ..Keys::default()
    };
    let (found, calls) = sf.lookup(&keys, &policy()).await;
    assert_eq!(calls, 1);
    assert_eq!(
        ids(&found),
        BTreeSet::from([id(&seeded, "Contact", 7), id(&seeded, "Lead", 1)])
    );
    assert!(
        found
            .iter()
            .all(|c| c.external_id.as_deref() == Some("ext-42"))
    );

    // The same field used as the visitor id field works the same way.
    let by_visitor = IdentityPolicy {
        visitor_id_field: Some("Chat_Contact_Id__c".into()),
        ..IdentityPolicy::default()
    };
    let keys = Keys {
        visitor_id: Some("ext-42".into()),
        ..Keys::default()
    };
    let (found, calls) = sf.lookup(&keys, &by_visitor).await;
    assert_eq!(calls, 1);
    assert_eq!(found.len(), 2);
    assert!(
        found
            .iter()
            .all(|c| c.visitor_id.as_deref() == Some("ext-42"))
    );

    // Without a configured field the external id is no key: no call.
    let (found, calls) = sf.lookup(&keys, &IdentityPolicy::default()).await;
    assert_eq!((found.len(), calls), (0, 0));
}

#[tokio::test]
async fn all_keys_at_once_are_one_call_and_each_person_once() {
    let sf = salesforce().await;
    let seeded = sf.seed(people());
    let keys = Keys {
        email: Some("jane.doe@example.com".into()),
        phone: Some("+15551211212".into()),
        external_id: Some("ext-42".into()),
        ..Keys::default()
    };
    let (found, calls) = sf.lookup(&keys, &policy()).await;
    assert_eq!(calls, 1);
    // Contact 0 and Lead 0 match on e-mail and phone, and appear once each.
    assert_eq!(found.len(), ids(&found).len());
    let want: BTreeSet<String> = [0, 1, 2, 3, 4, 5, 7]
        .iter()
        .map(|&i| id(&seeded, "Contact", i))
        .chain([id(&seeded, "Lead", 0), id(&seeded, "Lead", 1)])
        .collect();
    assert_eq!(ids(&found), want);
    let kinds: Vec<PersonKind> = found.iter().map(|c| c.kind).collect();
    let first_lead = kinds.iter().position(|k| *k == PersonKind::Lead).unwrap();
    assert!(kinds[first_lead..].iter().all(|k| *k == PersonKind::Lead));

    // A rule the tenant does not use is not looked up.
    let email_only = IdentityPolicy {
        match_order: vec![MatchKey::Email],
        ..policy()
    };
    let (found, calls) = sf.lookup(&keys, &email_only).await;
    assert_eq!(calls, 1);
    assert_eq!(found.len(), 2);
}

#[tokio::test]
async fn no_keys_cost_no_call() {
    let sf = salesforce().await;
    sf.seed(people());
    // Warm the session so a token request could not hide a call.
    sf.lookup(&email("x@example.com"), &policy()).await;
    let names_only = Keys {
        first_name: Some("Jane".into()),
        last_name: Some("Doe".into()),
        company: Some("Acme".into()),
        platform_contact_id: Some("c-1".into()),
        ..Keys::default()
    };
    for keys in [Keys::default(), names_only, phone("+1555")] {
        let (found, calls) = sf.lookup(&keys, &policy()).await;
        assert_eq!((found.len(), calls), (0, 0), "{keys:?}");
    }
}

#[tokio::test]
async fn hostile_values_match_nobody() {
    let sf = salesforce().await;
    sf.seed(people());
    for hostile in [
        "x' OR Email != '",
        "x\\' OR Email != null OR Email = '",
        "%",
        "_@example.com",
    ] {
        let (found, calls) = sf.lookup(&email(hostile), &policy()).await;
        assert_eq!((found.len(), calls), (0, 1), "{hostile}");
        let keys = Keys {
            external_id: Some(hostile.into()),
            ..Keys::default()
        };
        let (found, calls) = sf.lookup(&keys, &policy()).await;
        assert_eq!((found.len(), calls), (0, 1), "{hostile}");
    }
}

#[tokio::test]
async fn converted_leads_carry_their_contact() {
    let sf = salesforce().await;
    let seeded = sf.seed(json!({
        "Account": [{"Name": "Acme"}],
        "Contact": [{"LastName": "Doe", "Email": "conv@example.com"}],
    }));
    let account = id(&seeded, "Account", 0);
    let contact = id(&seeded, "Contact", 0);
    let lead = sf.seed(json!({"Lead": [{
        "LastName": "Doe", "Company": "Acme", "Email": "conv@example.com",
        "IsConverted": true, "ConvertedContactId": contact, "ConvertedAccountId": account,
    }]}));
    let (found, calls) = sf.lookup(&email("conv@example.com"), &policy()).await;
    assert_eq!(calls, 1);
    assert_eq!(found.len(), 2);
    let lead = found.iter().find(|c| c.id == id(&lead, "Lead", 0)).unwrap();
    assert!(lead.is_converted);
    assert_eq!(lead.converted_contact_id.as_deref(), Some(contact.as_str()));
    assert_eq!(lead.converted_account_id.as_deref(), Some(account.as_str()));
}

#[tokio::test]
async fn create_makes_the_record_in_one_call() {
    let sf = salesforce().await;
    let seeded = sf.seed(json!({"Account": [{"Name": "Acme"}]}));
    let account = id(&seeded, "Account", 0);
    sf.lookup(&email("warm@example.com"), &policy()).await;

    let fields =
        json!({"LastName": "Lovelace", "Company": "Analytical", "Email": "ada@example.com"});
    let plan = CreatePlan::Create {
        kind: PersonKind::Lead,
        fields: fields.as_object().unwrap().clone(),
    };
    let before = sf.api_calls().await;
    let person = create(&sf.org, &plan).await.unwrap().expect("created");
    assert_eq!(sf.api_calls().await - before, 1);
    assert_eq!(person.kind, PersonKind::Lead);
    assert!(
        person.id.starts_with("00Q") && person.id.len() == 18,
        "{}",
        person.id
    );
    assert_eq!(person.account_id, None);
    let stored = sf.record("Lead", &person.id).await;
    assert_eq!(stored["Email"], "ada@example.com");
    assert_eq!(stored["Company"], "Analytical");

    let plan = CreatePlan::Create {
        kind: PersonKind::Contact,
        fields: json!({"LastName": "Byron", "AccountId": account})
            .as_object()
            .unwrap()
            .clone(),
    };
    let before = sf.api_calls().await;
    let person = create(&sf.org, &plan).await.unwrap().expect("created");
    assert_eq!(sf.api_calls().await - before, 1);
    assert_eq!(
        person,
        Person {
            kind: PersonKind::Contact,
            id: person.id.clone(),
            account_id: Some(account.clone()),
        }
    );
    assert_eq!(sf.record("Contact", &person.id).await["AccountId"], account);
    // The created person is found by the next lookup.
    let (found, _) = sf.lookup(&email("ada@example.com"), &policy()).await;
    assert_eq!(found.len(), 1);

    // Skip creates nothing and costs nothing.
    let before = sf.api_calls().await;
    let skip = CreatePlan::Skip {
        reason: "no e-mail".into(),
    };
    assert_eq!(create(&sf.org, &skip).await.unwrap(), None);
    assert_eq!(sf.api_calls().await - before, 0);

    // A refused create is an error, not a person.
    let bad = CreatePlan::Create {
        kind: PersonKind::Lead,
        fields: json!({"LastName": "NoCompany"})
            .as_object()
            .unwrap()
            .clone(),
    };
    let err = create(&sf.org, &bad).await.unwrap_err();
    assert_eq!(err.code(), Some("REQUIRED_FIELD_MISSING"));
}

#[tokio::test]
async fn links_put_get_forget_and_expire() {
    let aws = chatsync_tests::LocalAws::start().await;
    let links = Links::new(aws.dynamo(), aws.table("LinksTable"));
    let now = OffsetDateTime::now_utc();
    let keys = Keys {
        platform_contact_id: Some("ic-123".into()),
        email: Some("jane@example.com".into()),
        phone: Some("+15551211212".into()),
        ..Keys::default()
    };
    let link_keys = LinkKey::for_keys(Platform::Intercom, &keys);
    assert_eq!(link_keys.len(), 3);
    let jane = Person {
        kind: PersonKind::Contact,
        id: "003000000000001AAA".into(),
        account_id: Some("001000000000001AAA".into()),
    };

    for key in &link_keys {
        assert_eq!(links.get("acme", key).await.unwrap(), None);
    }
    links.put("acme", &link_keys, &jane, 30, now).await.unwrap();
    for key in &link_keys {
        let link = links.get("acme", key).await.unwrap().expect("linked");
        assert_eq!(link.person, jane);
        assert_eq!(link.linked_at.unix_timestamp(), now.unix_timestamp());
    }
    // Links belong to their tenant, and the platform is part of the key.
    assert_eq!(links.get("other", &link_keys[0]).await.unwrap(), None);
    let same_id_elsewhere = LinkKey::PlatformContact {
        platform: Platform::Tidio,
        contact_id: "ic-123".into(),
    };
    assert_eq!(links.get("acme", &same_id_elsewhere).await.unwrap(), None);

    // Re-pointing a key (converted Lead → its Contact) replaces the link.
    let lead = Person {
        kind: PersonKind::Lead,
        id: "00Q000000000001AAA".into(),
        account_id: None,
    };
    links
        .put("acme", &link_keys[1..2], &lead, 30, now)
        .await
        .unwrap();
    assert_eq!(
        links
            .get("acme", &link_keys[1])
            .await
            .unwrap()
            .unwrap()
            .person,
        lead
    );

    // Forgetting one key leaves the others; forgetting twice is fine.
    links.forget("acme", &link_keys[0]).await.unwrap();
    links.forget("acme", &link_keys[0]).await.unwrap();
    assert_eq!(links.get("acme", &link_keys[0]).await.unwrap(), None);
    assert!(links.get("acme", &link_keys[2]).await.unwrap().is_some());

    // Expiry: a link written 31 days ago with a 30-day TTL reads as absent even though
    // DynamoDB has not deleted it yet; it was live before its expiry.
    let old = LinkKey::Email("old@example.com".into());
    let then = now - Duration::days(31);
    links
        .put("acme", std::slice::from_ref(&old), &jane, 30, then)
        .await
        .unwrap();
    assert_eq!(links.get("acme", &old).await.unwrap(), None);
    assert!(
        links
            .get_at("acme", &old, then + Duration::days(29))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        links
            .get_at(
                "acme",
                &old,
                then + Duration::days(30) + Duration::seconds(1)
            )
            .await
            .unwrap(),
        None
    );
    // Putting it again renews it.
    links
        .put("acme", std::slice::from_ref(&old), &jane, 30, now)
        .await
        .unwrap();
    assert!(links.get("acme", &old).await.unwrap().is_some());
    // TTL 0: no expiry at all.
    let forever = LinkKey::Phone("+442079460958".into());
    links
        .put("acme", std::slice::from_ref(&forever), &jane, 0, then)
        .await
        .unwrap();
    assert!(
        links
            .get_at("acme", &forever, now + Duration::days(3650))
            .await
            .unwrap()
            .is_some()
    );

    // The stored item uses the template's key and TTL attribute names.
    let item = aws
        .dynamo()
        .get_item()
        .table_name(aws.table("LinksTable"))
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("acme".into()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(
                shared::store::links::LinkKey::Phone("+15551211212".into()).render(),
            ),
        )
        .send()
        .await
        .unwrap()
        .item
        .expect("stored under pk/sk");
    let expires: i64 = item["expires_at"].as_n().unwrap().parse().unwrap();
    assert_eq!(expires, now.unix_timestamp() + 30 * 86_400);
}

fn user(email: &str, active: bool) -> Value {
    let alias: String = email.chars().take(8).collect();
    json!({"Username": format!("{email}.chatsync"), "LastName": "Agent", "Alias": alias,
           "Email": email, "IsActive": active})
}

/// Users: 0 active agent, 1 inactive agent, 2–3 two active Users sharing an e-mail.
fn agents() -> Value {
    json!({"User": [
        user("agent@acme.example", true),
        user("gone@acme.example", false),
        user("shared@acme.example", true),
        user("shared@acme.example", true),
    ]})
}

fn accounts_policy() -> IdentityPolicy {
    IdentityPolicy {
        accounts: true,
        ..policy()
    }
}

fn visitor_keys(email: &str, company: Option<&str>) -> Keys {
    let v = Visitor {
        email: Some(email.into()),
        company_name: company.map(Into::into),
        ..Visitor::default()
    };
    Keys::from_visitor(&v, "US")
}

#[tokio::test]
async fn the_emulator_has_the_integration_user_and_seeded_users() {
    let sf = salesforce().await;
    let seeded = sf.seed(agents());
    let users = sf.records("User").await;
    // The integration user plus the four seeded ones, with their IsActive as seeded.
    assert_eq!(users.len(), 5, "{users:?}");
    let gone = users
        .iter()
        .find(|u| u["Id"] == id(&seeded, "User", 1))
        .unwrap();
    assert_eq!(gone["IsActive"], false);
    assert!(
        users
            .iter()
            .any(|u| u["LastName"] == "Integration" && u["IsActive"] == true)
    );
}

#[tokio::test]
async fn owner_is_the_one_active_user_with_the_agents_email_in_the_same_call() {
    let sf = salesforce().await;
    let seeded = sf.seed(agents());
    let people = sf.seed(people());
    let keys = email("jane.doe@example.com");
    sf.lookup(&email("warm@example.com"), &policy()).await;

    // Active: found, and the candidates come in the same single call.
    let (found, calls) = sf
        .lookup_all(&keys, &policy(), Some(" Agent@ACME.example "))
        .await;
    assert_eq!(calls, 1);
    assert_eq!(found.owner_id, Some(id(&seeded, "User", 0)));
    assert_eq!(
        ids(&found.candidates),
        BTreeSet::from([id(&people, "Contact", 0), id(&people, "Lead", 0)])
    );
    assert!(found.notes.is_empty(), "{:?}", found.notes);

    // Inactive, absent, or two active Users: no owner, a note, still one call.
    for agent in [
        "gone@acme.example",
        "nobody@acme.example",
        "shared@acme.example",
    ] {
        let (found, calls) = sf.lookup_all(&keys, &policy(), Some(agent)).await;
        assert_eq!(calls, 1, "{agent}");
        assert_eq!(found.owner_id, None, "{agent}");
        assert_eq!(found.candidates.len(), 2, "{agent}");
        assert_eq!(found.notes.len(), 1, "{agent}: {:?}", found.notes);
    }
    // No agent: no User query, no note; an invalid agent e-mail: a note, no query.
    let (found, calls) = sf.lookup_all(&keys, &policy(), None).await;
    assert_eq!((found.owner_id, found.notes.len(), calls), (None, 0, 1));
    let (found, calls) = sf.lookup_all(&keys, &policy(), Some("agent at acme")).await;
    assert_eq!((found.owner_id, found.notes.len(), calls), (None, 1, 1));

    // Only the owner wanted (no person key): still one call, no candidates.
    let (found, calls) = sf
        .lookup_all(&Keys::default(), &policy(), Some("agent@acme.example"))
        .await;
    assert_eq!(calls, 1);
    assert_eq!(found.owner_id, Some(id(&seeded, "User", 0)));
    assert!(found.candidates.is_empty());
    // Nothing at all to look up: no call.
    let (found, calls) = sf.lookup_all(&Keys::default(), &policy(), None).await;
    assert_eq!((found, calls), (Lookup::default(), 0));
}

/// Accounts: 0 by website, 1 by name only, 2–3 sharing a website, 4 a look-alike domain,
/// 5–6 sharing a name.
fn companies() -> Value {
    json!({"Account": [
        {"Name": "Acme Holdings", "Website": "https://www.acme.example/"},
        {"Name": "Beta Ltd"},
        {"Name": "Gamma One", "Website": "gamma.example"},
        {"Name": "Gamma Two", "Website": "http://www.gamma.example/about"},
        {"Name": "Not Acme", "Website": "https://notacme.example"},
        {"Name": "Delta"},
        {"Name": "DELTA"},
    ]})
}

#[tokio::test]
async fn account_by_website_domain_or_name_never_a_guess_in_one_call() {
    let sf = salesforce().await;
    let seeded = sf.seed(companies());
    let users = sf.seed(agents());
    sf.lookup(&email("warm@example.com"), &policy()).await;
    let p = accounts_policy();

    // The visitor's e-mail domain is the Account's website domain ("https://www.acme.example/"),
    // not the look-alike notacme.example; owner and candidates in the same call.
    let keys = visitor_keys("ada@acme.example", None);
    assert_eq!(keys.company_domain.as_deref(), Some("acme.example"));
    let (found, calls) = sf.lookup_all(&keys, &p, Some("agent@acme.example")).await;
    assert_eq!(calls, 1);
    assert_eq!(found.account, Some(id(&seeded, "Account", 0)));
    assert_eq!(found.owner_id, Some(id(&users, "User", 0)));
    assert!(found.notes.is_empty(), "{:?}", found.notes);

    // By name, whatever the case (free-mail e-mail: no domain).
    let keys = visitor_keys("ada@gmail.com", Some("beta ltd"));
    let (found, calls) = sf.lookup_all(&keys, &p, None).await;
    assert_eq!(calls, 1);
    assert_eq!(found.account, Some(id(&seeded, "Account", 1)));

    // Two Accounts with the website, or two with the name: none, and a note naming them.
    let keys = visitor_keys("ada@gamma.example", Some("Gamma One"));
    let (found, calls) = sf.lookup_all(&keys, &p, None).await;
    assert_eq!(calls, 1);
    assert_eq!(found.account, None);
    assert!(
        found
            .notes
            .iter()
            .any(|n| n.contains(&id(&seeded, "Account", 2))
                && n.contains(&id(&seeded, "Account", 3))),
        "{:?}",
        found.notes
    );
    let keys = visitor_keys("ada@gmail.com", Some("Delta"));
    let (found, _) = sf.lookup_all(&keys, &p, None).await;
    assert_eq!(found.account, None);
    assert_eq!(found.notes.len(), 1, "{:?}", found.notes);

    // No Account at all: none, one call.
    let keys = visitor_keys("ada@zeta.example", None);
    let (found, calls) = sf.lookup_all(&keys, &p, None).await;
    assert_eq!((found.account, calls), (None, 1));

    // The tenant does not want Accounts: no Account query, no note.
    let keys = visitor_keys("ada@acme.example", None);
    let (found, calls) = sf.lookup_all(&keys, &policy(), None).await;
    assert_eq!((found.account, found.notes.len(), calls), (None, 0, 1));

    // Only the Account wanted (a name, no person key the tenant matches on): one call.
    let name_only = Keys {
        company: Some("Beta Ltd".into()),
        ..Keys::default()
    };
    let (found, calls) = sf.lookup_all(&name_only, &p, None).await;
    assert_eq!(calls, 1);
    assert_eq!(found.account, Some(id(&seeded, "Account", 1)));
    assert!(found.candidates.is_empty());
}

#[tokio::test]
async fn a_new_visitor_is_created_with_owner_and_account_in_two_calls() {
    let sf = salesforce().await;
    let seeded = sf.seed(companies());
    let users = sf.seed(agents());
    sf.lookup(&email("warm@example.com"), &policy()).await;
    let keys = visitor_keys("ada@acme.example", None);
    let p = accounts_policy();

    let before = sf.api_calls().await;
    let found = lookup(&sf.org, &keys, &p, Some("agent@acme.example"))
        .await
        .unwrap();
    assert!(found.candidates.is_empty());
    let plan = plan_with_account(
        &keys,
        &p,
        Mode::Support,
        found.owner_id.as_deref(),
        found.account.as_deref(),
    );
    let person = create(&sf.org, &plan).await.unwrap().expect("created");
    assert_eq!(sf.api_calls().await - before, 2);
    let account = id(&seeded, "Account", 0);
    let agent = id(&users, "User", 0);
    assert_eq!(person.kind, PersonKind::Contact);
    assert_eq!(person.account_id.as_deref(), Some(account.as_str()));
    let stored = sf.record("Contact", &person.id).await;
    assert_eq!(stored["AccountId"], account);
    assert_eq!(stored["OwnerId"], agent);
    assert_eq!(stored["Email"], "ada@acme.example");

    // Sales: a Lead owned by the agent, with its Company and no AccountId.
    let keys = visitor_keys("bob@acme.example", Some("Acme Holdings"));
    let found = lookup(&sf.org, &keys, &p, Some("agent@acme.example"))
        .await
        .unwrap();
    let plan = plan_with_account(
        &keys,
        &p,
        Mode::Sales,
        found.owner_id.as_deref(),
        found.account.as_deref(),
    );
    let person = create(&sf.org, &plan).await.unwrap().expect("created");
    assert_eq!(
        (person.kind, person.account_id.clone()),
        (PersonKind::Lead, None)
    );
    let stored = sf.record("Lead", &person.id).await;
    assert_eq!(stored["OwnerId"], agent);
    assert_eq!(stored["Company"], "Acme Holdings");

    // An inactive agent is no owner: the integration user owns the record.
    let found = lookup(
        &sf.org,
        &visitor_keys("cy@acme.example", None),
        &p,
        Some("gone@acme.example"),
    )
    .await
    .unwrap();
    assert_eq!(found.owner_id, None);
    let plan = plan_with_account(
        &visitor_keys("cy@acme.example", None),
        &p,
        Mode::Support,
        found.owner_id.as_deref(),
        found.account.as_deref(),
    );
    let person = create(&sf.org, &plan).await.unwrap().expect("created");
    let stored = sf.record("Contact", &person.id).await;
    let integration = sf
        .records("User")
        .await
        .into_iter()
        .find(|u| u["LastName"] == "Integration")
        .unwrap();
    assert_eq!(stored["OwnerId"], integration["Id"]);
}
