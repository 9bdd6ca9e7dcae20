//! The standard objects chatsync touches, with the field facts of real describe results (types,
//! lengths, nillability, defaults, createable/updateable, reference targets).

use super::{FieldDef, FieldType, ObjectDef, Schema};
use serde_json::json;

impl Schema {
    /// The standard objects, as a fresh org describes them.
    pub(crate) fn standard() -> Self {
        use FieldType as T;
        let mut s = Schema::default();
        let obj = |name: &str, prefix: &str, extra: Vec<FieldDef>| {
            ObjectDef::new(name, name, prefix, extra)
        };
        // The standard Industry value set, as a fresh org has it (Lead and Account share it).
        let industry = || {
            FieldDef::new("Industry", T::Picklist).len(255).values(&[
                "Agriculture",
                "Apparel",
                "Banking",
                "Biotechnology",
                "Chemicals",
                "Communications",
                "Construction",
                "Consulting",
                "Education",
                "Electronics",
                "Energy",
                "Engineering",
                "Entertainment",
                "Environmental",
                "Finance",
                "Food & Beverage",
                "Government",
                "Healthcare",
                "Hospitality",
                "Insurance",
                "Machinery",
                "Manufacturing",
                "Media",
                "Not For Profit",
                "Recreation",
                "Retail",
                "Shipping",
                "Technology",
                "Telecommunications",
                "Transportation",
                "Utilities",
                "Other",
            ])
        };
        // Lead, Contact and Opportunity share the LeadSource value set.
        let lead_source = || {
            FieldDef::new("LeadSource", T::Picklist).len(255).values(&[
                "Web",
                "Phone Inquiry",
                "Partner Referral",
                "Purchased List",
                "Other",
            ])
        };
        let rating = || {
            FieldDef::new("Rating", T::Picklist)
                .len(255)
                .values(&["Hot", "Warm", "Cold"])
        };
        let owner = |targets: &[&str]| {
            FieldDef::new("OwnerId", T::Reference)
                .label("Owner ID")
                .refs(targets)
                .required()
                .defaulted(None)
        };
        s.insert(obj(
            "Lead",
            "00Q",
            vec![
                FieldDef::new("FirstName", T::String).len(40),
                FieldDef::new("LastName", T::String).len(80).required(),
                FieldDef::new("Name", T::String).len(121).read_only(),
                FieldDef::new("Company", T::String).len(255).required(),
                FieldDef::new("Title", T::String).len(128),
                FieldDef::new("Email", T::Email).len(80),
                FieldDef::new("Phone", T::Phone).len(40),
                FieldDef::new("MobilePhone", T::Phone).len(40),
                FieldDef::new("Status", T::Picklist)
                    .len(255)
                    .required()
                    .defaulted(Some(json!("Open - Not Contacted")))
                    .values(&[
                        "Open - Not Contacted",
                        "Working - Contacted",
                        "Closed - Converted",
                        "Closed - Not Converted",
                    ]),
                lead_source(),
                industry(),
                rating(),
                FieldDef::new("Website", T::Url).len(255),
                FieldDef::new("NumberOfEmployees", T::Int),
                FieldDef::new("Description", T::Textarea),
                owner(&["Group", "User"]),
                FieldDef::new("IsConverted", T::Boolean).create_only(),
                FieldDef::new("ConvertedContactId", T::Reference)
                    .refs(&["Contact"])
                    .read_only(),
                FieldDef::new("ConvertedAccountId", T::Reference)
                    .refs(&["Account"])
                    .read_only(),
                FieldDef::new("ConvertedDate", T::Date).read_only(),
            ],
        ));
        s.insert(obj(
            "Contact",
            "003",
            vec![
                FieldDef::new("FirstName", T::String).len(40),
                FieldDef::new("LastName", T::String).len(80).required(),
                FieldDef::new("Name", T::String).len(121).read_only(),
                FieldDef::new("Title", T::String).len(128),
                FieldDef::new("Email", T::Email).len(80),
                FieldDef::new("Phone", T::Phone).len(40),
                FieldDef::new("MobilePhone", T::Phone).len(40),
                FieldDef::new("AccountId", T::Reference)
                    .label("Account ID")
                    .refs(&["Account"])
                    .children("Contacts"),
                FieldDef::new("Department", T::String).len(80),
                lead_source(),
                FieldDef::new("Description", T::Textarea),
                owner(&["User"]),
            ],
        ));
        s.insert(obj(
            "Account",
            "001",
            vec![
                FieldDef::new("Name", T::String).len(255).required(),
                FieldDef::new("AccountNumber", T::String).len(40),
                FieldDef::new("Website", T::Url).len(255),
                // The billing address's country, as text (no State and Country Picklists).
                FieldDef::new("BillingCountry", T::String).len(80),
                FieldDef::new("Phone", T::Phone).len(40),
                industry(),
                rating(),
                FieldDef::new("Type", T::Picklist).len(255).values(&[
                    "Prospect",
                    "Customer - Direct",
                    "Customer - Channel",
                    "Channel Partner / Reseller",
                    "Installation Partner",
                    "Technology Partner",
                    "Other",
                ]),
                FieldDef::new("NumberOfEmployees", T::Int),
                FieldDef::new("Description", T::Textarea),
                FieldDef::new("RecordTypeId", T::Reference)
                    .label("Record Type ID")
                    .refs(&["RecordType"]),
                owner(&["User"]),
            ],
        ));
        s.insert(obj(
            "Case",
            "500",
            vec![
                FieldDef::new("CaseNumber", T::String)
                    .len(30)
                    .label("Case Number")
                    .auto_number("{00000000}", 1001),
                FieldDef::new("Subject", T::String).len(255),
                FieldDef::new("Description", T::Textarea),
                FieldDef::new("Status", T::Picklist)
                    .len(40)
                    .defaulted(Some(json!("New")))
                    .values(&["New", "Working", "Escalated", "Closed"]),
                FieldDef::new("Priority", T::Picklist)
                    .len(40)
                    .defaulted(Some(json!("Medium")))
                    .values(&["High", "Medium", "Low"]),
                FieldDef::new("Origin", T::Picklist)
                    .len(40)
                    .values(&["Phone", "Email", "Web"]),
                FieldDef::new("Reason", T::Picklist).len(40).values(&[
                    "Installation",
                    "Equipment Complexity",
                    "Performance",
                    "Breakdown",
                    "Equipment Design",
                    "Feedback",
                    "Other",
                ]),
                FieldDef::new("Type", T::Picklist).len(40).values(&[
                    "Mechanical",
                    "Electrical",
                    "Electronic",
                    "Structural",
                    "Other",
                ]),
                FieldDef::new("ContactId", T::Reference)
                    .label("Contact ID")
                    .refs(&["Contact"])
                    .children("Cases"),
                FieldDef::new("AccountId", T::Reference)
                    .label("Account ID")
                    .refs(&["Account"])
                    .children("Cases"),
                FieldDef::new("SuppliedEmail", T::Email).len(80),
                FieldDef::new("SuppliedName", T::String).len(80),
                FieldDef::new("SuppliedPhone", T::String).len(40),
                FieldDef::new("IsClosed", T::Boolean).read_only(),
                FieldDef::new("ClosedDate", T::DateTime).read_only(),
                FieldDef::new("RecordTypeId", T::Reference)
                    .label("Record Type ID")
                    .refs(&["RecordType"]),
                owner(&["Group", "User"]),
            ],
        ));
        s.insert(obj(
            "CaseComment",
            "00a",
            vec![
                FieldDef::new("ParentId", T::Reference)
                    .label("Parent ID")
                    .refs(&["Case"])
                    .children("CaseComments")
                    .required()
                    .create_only(),
                FieldDef::new("CommentBody", T::Textarea)
                    .len(4000)
                    .label("Body"),
                FieldDef::new("IsPublished", T::Boolean),
            ],
        ));
        s.insert(obj(
            "Task",
            "00T",
            vec![
                FieldDef::new("Subject", T::Combobox).len(255),
                FieldDef::new("Description", T::Textarea),
                FieldDef::new("Status", T::Picklist)
                    .len(40)
                    .required()
                    .defaulted(Some(json!("Not Started")))
                    .values(&[
                        "Not Started",
                        "In Progress",
                        "Completed",
                        "Waiting on someone else",
                        "Deferred",
                    ]),
                FieldDef::new("Priority", T::Picklist)
                    .len(40)
                    .required()
                    .defaulted(Some(json!("Normal")))
                    .values(&["High", "Normal", "Low"]),
                FieldDef::new("ActivityDate", T::Date).label("Due Date Only"),
                FieldDef::new("WhoId", T::Reference)
                    .label("Name ID")
                    .refs(&["Contact", "Lead"])
                    .children("Tasks"),
                FieldDef::new("WhatId", T::Reference)
                    .label("Related To ID")
                    .refs(&["Account", "Opportunity", "Case"])
                    .children("Tasks"),
                FieldDef::new("TaskSubtype", T::Picklist)
                    .len(40)
                    .restricted()
                    .create_only()
                    .values(&["Task", "Email", "ListEmail", "Call", "LinkedIn"]),
                FieldDef::new("CallType", T::Picklist)
                    .len(40)
                    .restricted()
                    .values(&["Inbound", "Internal", "Outbound"]),
                FieldDef::new("CallDurationInSeconds", T::Int),
                FieldDef::new("CallDisposition", T::String).len(255),
                FieldDef::new("IsClosed", T::Boolean).read_only(),
                FieldDef::new("AccountId", T::Reference)
                    .refs(&["Account"])
                    .read_only(),
                owner(&["Group", "User"]),
            ],
        ));
        s.insert(obj(
            "User",
            "005",
            vec![
                FieldDef::new("Username", T::String).len(80).required(),
                FieldDef::new("FirstName", T::String).len(40),
                FieldDef::new("LastName", T::String).len(80).required(),
                FieldDef::new("Name", T::String).len(121).read_only(),
                FieldDef::new("Alias", T::String).len(8).required(),
                FieldDef::new("Email", T::Email).len(128).required(),
                FieldDef::new("Phone", T::Phone).len(40),
                FieldDef::new("Title", T::String).len(80),
                FieldDef::new("IsActive", T::Boolean).defaulted(Some(json!(true))),
            ],
        ));
        s.insert(obj(
            "Group",
            "00G",
            vec![
                FieldDef::new("Name", T::String).len(40).required(),
                FieldDef::new("DeveloperName", T::String).len(80),
                FieldDef::new("Type", T::Picklist)
                    .len(40)
                    .required()
                    .restricted()
                    .values(&["Regular", "Queue", "Personal", "Role", "Organization"]),
                FieldDef::new("Email", T::Email).len(255),
            ],
        ));
        s.insert(obj(
            "QueueSobject",
            "03g",
            vec![
                FieldDef::new("QueueId", T::Reference)
                    .label("Group ID")
                    .refs(&["Group"])
                    .required()
                    .create_only(),
                FieldDef::new("SobjectType", T::Picklist)
                    .len(40)
                    .required()
                    .restricted()
                    .create_only()
                    .values(&["Case", "Lead", "Task", "Contact", "Account", "Opportunity"]),
            ],
        ));
        s.insert(obj(
            "RecordType",
            "012",
            vec![
                FieldDef::new("Name", T::String).len(80).required(),
                FieldDef::new("DeveloperName", T::String).len(80).required(),
                FieldDef::new("SobjectType", T::Picklist)
                    .len(40)
                    .required()
                    .restricted()
                    .values(&["Account", "Case", "Contact", "Lead", "Opportunity", "Task"]),
                FieldDef::new("IsActive", T::Boolean).defaulted(Some(json!(true))),
                FieldDef::new("Description", T::String).len(255),
            ],
        ));
        s.insert(obj(
            "Opportunity",
            "006",
            vec![
                FieldDef::new("Name", T::String).len(120).required(),
                FieldDef::new("StageName", T::Picklist)
                    .len(255)
                    .required()
                    .values(&[
                        "Prospecting",
                        "Qualification",
                        "Needs Analysis",
                        "Proposal/Price Quote",
                        "Closed Won",
                        "Closed Lost",
                    ]),
                FieldDef::new("CloseDate", T::Date).required(),
                // Derived from StageName: Closed Won and Closed Lost are the closed stages.
                FieldDef::new("IsClosed", T::Boolean).read_only(),
                FieldDef::new("IsWon", T::Boolean).read_only(),
                FieldDef::new("Amount", T::Currency),
                FieldDef::new("AccountId", T::Reference)
                    .label("Account ID")
                    .refs(&["Account"])
                    .children("Opportunities"),
                // The primary contact, settable on create (API 46.0+):
                // https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_opportunity.htm
                FieldDef::new("ContactId", T::Reference)
                    .label("Contact ID")
                    .refs(&["Contact"]),
                lead_source(),
                FieldDef::new("Description", T::Textarea),
                owner(&["User"]),
            ],
        ));
        s.insert(obj(
            "OpportunityContactRole",
            "00K",
            vec![
                FieldDef::new("OpportunityId", T::Reference)
                    .label("Opportunity ID")
                    .refs(&["Opportunity"])
                    .children("OpportunityContactRoles")
                    .required(),
                FieldDef::new("ContactId", T::Reference)
                    .label("Contact ID")
                    .refs(&["Contact"])
                    .children("OpportunityContactRoles")
                    .required(),
                FieldDef::new("Role", T::Picklist).len(40).values(&[
                    "Business User",
                    "Decision Maker",
                    "Economic Buyer",
                    "Influencer",
                    "Other",
                ]),
                FieldDef::new("IsPrimary", T::Boolean),
            ],
        ));
        for (name, label) in [
            ("CaseComment", "Case Comment"),
            ("OpportunityContactRole", "Opportunity Contact Role"),
            ("QueueSobject", "Queue Sobject"),
            ("RecordType", "Record Type"),
        ] {
            if let Some(o) = s.object_mut(name) {
                o.label = label.to_string();
                o.label_plural = format!("{label}s");
            }
        }
        if let Some(o) = s.object_mut("Opportunity") {
            o.label_plural = "Opportunities".into();
        }
        s.insert_files();
        s
    }
}

/// Fields every object has; all maintained by the platform.
pub(super) fn system_fields() -> Vec<FieldDef> {
    use FieldType as T;
    let mut id = FieldDef::new("Id", T::Id).label("Record ID").read_only();
    id.nillable = false;
    id.defaulted_on_create = true;
    vec![
        id,
        FieldDef::new("IsDeleted", T::Boolean).read_only(),
        FieldDef::new("CreatedDate", T::DateTime)
            .read_only()
            .defaulted(None),
        FieldDef::new("CreatedById", T::Reference)
            .refs(&["User"])
            .read_only()
            .defaulted(None),
        FieldDef::new("LastModifiedDate", T::DateTime)
            .read_only()
            .defaulted(None),
        FieldDef::new("LastModifiedById", T::Reference)
            .refs(&["User"])
            .read_only()
            .defaulted(None),
        FieldDef::new("SystemModstamp", T::DateTime)
            .read_only()
            .defaulted(None),
    ]
    .into_iter()
    .map(|mut f| {
        // System fields are never null once a record exists.
        f.nillable = false;
        f
    })
    .collect()
}
