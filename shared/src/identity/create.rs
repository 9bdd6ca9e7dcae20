//! What to create when nothing matches: the record's kind from the tenant's policy or mode,
//! refused when the visitor lacks what the tenant requires, and only the allowed fields.

use super::Keys;
use super::rules::PersonKind;
use crate::tenant::{CreateKind, IdentityPolicy, Mode, Required};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "plan", rename_all = "snake_case")]
pub enum CreatePlan {
    /// Create this record with these fields (only allowed fields, required ones filled).
    Create {
        kind: PersonKind,
        fields: serde_json::Map<String, serde_json::Value>,
    },
    /// Create nothing, and say why (tenant mode, missing e-mail or phone).
    Skip { reason: String },
}

/// LeadSource of every Lead chatsync creates.
pub const LEAD_SOURCE: &str = "Chat";

/// Salesforce field lengths (Contact and Lead describes): longer values are cut, not refused.
const FIRST_NAME_MAX: usize = 40;
const LAST_NAME_MAX: usize = 80;
const COMPANY_MAX: usize = 255;

/// LastName and Company when the tenant's placeholder is blank (both are required).
const FALLBACK_PLACEHOLDER: &str = "Unknown";

/// The record to create for a visitor nobody matched; `owner_id` is the agent's active User
/// when known (else the integration user owns it).
///
/// The kind is `policy.create_by_role` for the visitor's role, else `policy.create`, else the
/// mode's: Contact for support, Lead for sales.
/// Fields: FirstName, LastName (the placeholder when the visitor gave none), Email, Phone
/// (E.164); for a Lead also Company (the visitor's company, else the business e-mail domain,
/// else the placeholder) and LeadSource "Chat"; the tenant's external and visitor id fields
/// when the visitor has those ids; OwnerId when given. Nothing else.
pub fn plan(
    keys: &Keys,
    policy: &IdentityPolicy,
    mode: Mode,
    owner_id: Option<&str>,
) -> CreatePlan {
    plan_with_account(keys, policy, mode, owner_id, None)
}

/// [`plan`], and a Contact's `AccountId` from `account_id` when known (the Account the lookup
/// decided, see [`super::lookup::Lookup::account`]). A Lead gets no AccountId: its Company stays
/// the visitor's company as in [`plan`].
pub fn plan_with_account(
    keys: &Keys,
    policy: &IdentityPolicy,
    mode: Mode,
    owner_id: Option<&str>,
    account_id: Option<&str>,
) -> CreatePlan {
    let by_role = keys.role.as_deref().and_then(|role| {
        policy
            .create_by_role
            .iter()
            .find(|(r, _)| r.trim().eq_ignore_ascii_case(role))
            .map(|(_, kind)| *kind)
    });
    let kind = match (by_role.or(policy.create), mode) {
        (Some(CreateKind::Nothing), _) => {
            return CreatePlan::Skip {
                reason: "the tenant creates no Contact or Lead for unknown visitors".into(),
            };
        }
        (Some(CreateKind::Contact), _) | (None, Mode::Support) => PersonKind::Contact,
        (Some(CreateKind::Lead), _) | (None, Mode::Sales) => PersonKind::Lead,
    };
    if let Some(reason) = missing_requirement(keys, policy.require, kind) {
        return CreatePlan::Skip { reason };
    }

    let mut fields = Map::new();
    if let Some(first) = present(keys.first_name.as_deref()) {
        fields.insert("FirstName".into(), text(first, FIRST_NAME_MAX));
    }
    let last = present(keys.last_name.as_deref())
        .or_else(|| present(Some(&policy.placeholder_last_name)))
        .unwrap_or(FALLBACK_PLACEHOLDER);
    fields.insert("LastName".into(), text(last, LAST_NAME_MAX));
    if let Some(email) = present(keys.email.as_deref()) {
        fields.insert("Email".into(), Value::String(email.to_owned()));
    }
    if let Some(phone) = present(keys.phone.as_deref()) {
        fields.insert("Phone".into(), Value::String(phone.to_owned()));
    }
    if kind == PersonKind::Lead {
        let company = present(keys.company.as_deref())
            .or_else(|| present(keys.company_domain.as_deref()))
            .or_else(|| present(Some(&policy.placeholder_company)))
            .unwrap_or(FALLBACK_PLACEHOLDER);
        fields.insert("Company".into(), text(company, COMPANY_MAX));
        fields.insert("LeadSource".into(), Value::String(LEAD_SOURCE.into()));
    }
    let ids = [
        (&policy.external_id_field, &keys.external_id),
        (&policy.visitor_id_field, &keys.visitor_id),
    ];
    for (field, value) in ids {
        if let (Some(field), Some(value)) = (present(field.as_deref()), present(value.as_deref())) {
            fields.insert(field.to_owned(), Value::String(value.to_owned()));
        }
    }
    if kind == PersonKind::Contact
        && let Some(account) = present(account_id)
    {
        fields.insert("AccountId".into(), Value::String(account.to_owned()));
    }
    if let Some(owner) = present(owner_id) {
        fields.insert("OwnerId".into(), Value::String(owner.to_owned()));
    }
    CreatePlan::Create { kind, fields }
}

/// Why the visitor may not be created under the tenant's requirement, if it may not.
fn missing_requirement(keys: &Keys, require: Required, kind: PersonKind) -> Option<String> {
    let has_email = present(keys.email.as_deref()).is_some();
    let has_phone = present(keys.phone.as_deref()).is_some();
    let what = match require {
        Required::Nothing => return None,
        Required::Email if !has_email => "an e-mail address",
        Required::Phone if !has_phone => "a phone number",
        Required::EmailOrPhone if !has_email && !has_phone => "an e-mail address or a phone number",
        Required::Email | Required::Phone | Required::EmailOrPhone => return None,
    };
    Some(format!(
        "not creating a {}: the tenant requires {what} and the visitor has none that is valid",
        kind.sobject()
    ))
}

fn present(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// A text field cut to Salesforce's length, on a character boundary.
fn text(s: &str, max_chars: usize) -> Value {
    Value::String(s.chars().take(max_chars).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys() -> Keys {
        Keys {
            email: Some("ada@analytical.io".into()),
            phone: Some("+442079460958".into()),
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            ..Keys::default()
        }
    }

    fn created(plan: CreatePlan) -> (PersonKind, Map<String, Value>) {
        match plan {
            CreatePlan::Create { kind, fields } => (kind, fields),
            CreatePlan::Skip { reason } => panic!("expected a record, got Skip: {reason}"),
        }
    }

    fn skipped(plan: CreatePlan) -> String {
        match plan {
            CreatePlan::Skip { reason } => reason,
            other => panic!("expected Skip, got {other:?}"),
        }
    }

    #[test]
    fn support_creates_a_contact_with_only_the_allowed_fields() {
        let mut k = keys();
        k.company = Some("Analytical Engines".into());
        k.platform_contact_id = Some("ic-1".into());
        let (kind, fields) = created(plan(&k, &IdentityPolicy::default(), Mode::Support, None));
        assert_eq!(kind, PersonKind::Contact);
        assert_eq!(
            Value::Object(fields),
            json!({
                "FirstName": "Ada",
                "LastName": "Lovelace",
                "Email": "ada@analytical.io",
                "Phone": "+442079460958",
            })
        );
    }

    #[test]
    fn sales_creates_a_lead_with_company_and_source() {
        let mut k = keys();
        k.company = Some("Analytical Engines".into());
        k.company_domain = Some("analytical.io".into());
        let (kind, fields) = created(plan(
            &k,
            &IdentityPolicy::default(),
            Mode::Sales,
            Some("005agent"),
        ));
        assert_eq!(kind, PersonKind::Lead);
        assert_eq!(
            Value::Object(fields),
            json!({
                "FirstName": "Ada",
                "LastName": "Lovelace",
                "Email": "ada@analytical.io",
                "Phone": "+442079460958",
                "Company": "Analytical Engines",
                "LeadSource": "Chat",
                "OwnerId": "005agent",
            })
        );
    }

    #[test]
    fn lead_company_falls_back_to_the_domain_then_the_placeholder() {
        let mut k = keys();
        k.company_domain = Some("analytical.io".into());
        let (_, fields) = created(plan(&k, &IdentityPolicy::default(), Mode::Sales, None));
        assert_eq!(fields["Company"], "analytical.io");
        k.company_domain = None;
        let policy = IdentityPolicy {
            placeholder_company: "Chat visitor".into(),
            ..IdentityPolicy::default()
        };
        let (_, fields) = created(plan(&k, &policy, Mode::Sales, None));
        assert_eq!(fields["Company"], "Chat visitor");
        // A blank placeholder still fills the required field.
        let policy = IdentityPolicy {
            placeholder_company: " ".into(),
            ..IdentityPolicy::default()
        };
        let (_, fields) = created(plan(&k, &policy, Mode::Sales, None));
        assert_eq!(fields["Company"], "Unknown");
    }

    #[test]
    fn the_policy_overrides_the_mode() {
        let lead = IdentityPolicy {
            create: Some(CreateKind::Lead),
            ..IdentityPolicy::default()
        };
        assert_eq!(
            created(plan(&keys(), &lead, Mode::Support, None)).0,
            PersonKind::Lead
        );
        let contact = IdentityPolicy {
            create: Some(CreateKind::Contact),
            ..IdentityPolicy::default()
        };
        let (kind, fields) = created(plan(&keys(), &contact, Mode::Sales, None));
        assert_eq!(kind, PersonKind::Contact);
        assert!(!fields.contains_key("Company") && !fields.contains_key("LeadSource"));
        let nothing = IdentityPolicy {
            create: Some(CreateKind::Nothing),
            ..IdentityPolicy::default()
        };
        assert!(skipped(plan(&keys(), &nothing, Mode::Sales, None)).contains("creates no"));
    }

    #[test]
    fn the_role_chooses_the_object_before_the_policy_and_the_mode() {
        // Intercom's own app: leads become Leads, users Contacts.
        let policy = IdentityPolicy {
            create_by_role: [
                ("lead".to_owned(), CreateKind::Lead),
                ("User".to_owned(), CreateKind::Contact),
            ]
            .into_iter()
            .collect(),
            create: Some(CreateKind::Nothing),
            ..IdentityPolicy::default()
        };
        let with_role = |role: &str| Keys {
            role: Some(role.into()),
            ..keys()
        };
        assert_eq!(
            created(plan(&with_role("lead"), &policy, Mode::Support, None)).0,
            PersonKind::Lead
        );
        assert_eq!(
            created(plan(&with_role("user"), &policy, Mode::Sales, None)).0,
            PersonKind::Contact
        );
        // A role the map does not list falls back to `create`.
        assert!(
            skipped(plan(&with_role("visitor"), &policy, Mode::Sales, None)).contains("creates no")
        );
        assert!(skipped(plan(&keys(), &policy, Mode::Sales, None)).contains("creates no"));
    }

    #[test]
    fn requirements_refuse_creation_with_a_reason() {
        let phone_only = Keys {
            email: None,
            ..keys()
        };
        let email_only = Keys {
            phone: None,
            ..keys()
        };
        let neither = Keys {
            email: None,
            phone: None,
            ..keys()
        };
        let policy = |require| IdentityPolicy {
            require,
            ..IdentityPolicy::default()
        };
        let reason = skipped(plan(
            &phone_only,
            &policy(Required::Email),
            Mode::Support,
            None,
        ));
        assert!(reason.contains("requires an e-mail address"), "{reason}");
        let reason = skipped(plan(
            &email_only,
            &policy(Required::Phone),
            Mode::Sales,
            None,
        ));
        assert!(reason.contains("requires a phone number"), "{reason}");
        assert!(reason.contains("Lead"), "{reason}");
        let reason = skipped(plan(
            &neither,
            &policy(Required::EmailOrPhone),
            Mode::Sales,
            None,
        ));
        assert!(
            reason.contains("e-mail address or a phone number"),
            "{reason}"
        );

        created(plan(
            &phone_only,
            &policy(Required::EmailOrPhone),
            Mode::Sales,
            None,
        ));
        created(plan(
            &email_only,
            &policy(Required::EmailOrPhone),
            Mode::Sales,
            None,
        ));
        created(plan(
            &neither,
            &policy(Required::Nothing),
            Mode::Sales,
            None,
        ));
    }

    #[test]
    fn a_nameless_visitor_gets_the_placeholder_last_name() {
        let k = Keys {
            first_name: None,
            last_name: Some("  ".into()),
            ..keys()
        };
        let (_, fields) = created(plan(&k, &IdentityPolicy::default(), Mode::Support, None));
        assert_eq!(fields["LastName"], "Unknown");
        assert!(!fields.contains_key("FirstName"));
        let policy = IdentityPolicy {
            placeholder_last_name: "Chat visitor".into(),
            ..IdentityPolicy::default()
        };
        let (_, fields) = created(plan(&k, &policy, Mode::Support, None));
        assert_eq!(fields["LastName"], "Chat visitor");
    }

    #[test]
    fn configured_id_fields_are_set_from_the_visitor() {
        let k = Keys {
            external_id: Some("cust-1".into()),
            visitor_id: Some("v-42".into()),
            ..keys()
        };
        let (_, fields) = created(plan(&k, &IdentityPolicy::default(), Mode::Support, None));
        assert!(!fields.contains_key("External_Id__c"));
        let policy = IdentityPolicy {
            external_id_field: Some("External_Id__c".into()),
            visitor_id_field: Some("Chat_Contact_Id__c".into()),
            ..IdentityPolicy::default()
        };
        let (_, fields) = created(plan(&k, &policy, Mode::Support, None));
        assert_eq!(fields["External_Id__c"], "cust-1");
        assert_eq!(fields["Chat_Contact_Id__c"], "v-42");
        // Configured, but the visitor has no id: nothing set.
        let (_, fields) = created(plan(&keys(), &policy, Mode::Support, None));
        assert!(
            !fields.contains_key("External_Id__c") && !fields.contains_key("Chat_Contact_Id__c")
        );
    }

    #[test]
    fn a_known_account_is_set_on_contacts_only() {
        let (kind, fields) = created(plan_with_account(
            &keys(),
            &IdentityPolicy::default(),
            Mode::Support,
            Some("005agent"),
            Some("001acme"),
        ));
        assert_eq!(kind, PersonKind::Contact);
        assert_eq!(fields["AccountId"], "001acme");
        assert_eq!(fields["OwnerId"], "005agent");
        let mut k = keys();
        k.company = Some("Acme".into());
        let (kind, fields) = created(plan_with_account(
            &k,
            &IdentityPolicy::default(),
            Mode::Sales,
            None,
            Some("001acme"),
        ));
        assert_eq!(kind, PersonKind::Lead);
        assert!(!fields.contains_key("AccountId"));
        assert_eq!(fields["Company"], "Acme");
        // Unknown or blank: no AccountId, and plan() is plan_with_account(.., None).
        for account in [None, Some(" ")] {
            let (_, fields) = created(plan_with_account(
                &keys(),
                &IdentityPolicy::default(),
                Mode::Support,
                None,
                account,
            ));
            assert!(!fields.contains_key("AccountId"));
        }
        assert_eq!(
            plan(&keys(), &IdentityPolicy::default(), Mode::Support, None),
            plan_with_account(
                &keys(),
                &IdentityPolicy::default(),
                Mode::Support,
                None,
                None
            )
        );
    }

    #[test]
    fn long_names_are_cut_to_salesforce_lengths_on_characters() {
        let k = Keys {
            first_name: Some("é".repeat(50)),
            last_name: Some("ß".repeat(100)),
            company: Some("x".repeat(300)),
            ..keys()
        };
        let (_, fields) = created(plan(&k, &IdentityPolicy::default(), Mode::Sales, None));
        let len = |f: &str| fields[f].as_str().map(|s| s.chars().count());
        assert_eq!(len("FirstName"), Some(40));
        assert_eq!(len("LastName"), Some(80));
        assert_eq!(len("Company"), Some(255));
    }
}
