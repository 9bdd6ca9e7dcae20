//! Salesforce Files: ContentVersion (one uploaded version, holding the bytes), ContentDocument
//! (the file, created with its first version) and ContentDocumentLink (where the file is shared).
//! Field facts from the Object Reference pages of the three objects (v62.0).

use super::{FieldDef, FieldType, ObjectDef, Schema};
use serde_json::json;

/// Objects a file may be published to or linked with; custom objects are added as metadata loads
/// them (any object with a feed may hold files).
const FILE_PARENTS: &[&str] = &[
    "Account",
    "Case",
    "Contact",
    "Lead",
    "Opportunity",
    "Task",
    "User",
];

impl Schema {
    pub(super) fn insert_files(&mut self) {
        use FieldType as T;
        let mut version = ObjectDef::new(
            "ContentVersion",
            "Content Version",
            "068",
            vec![
                FieldDef::new("Title", T::String).len(255).required(),
                // Required on create through the files hook (dml::files), not in describe: a link
                // version (ContentUrl) has no path.
                FieldDef::new("PathOnClient", T::String)
                    .len(500)
                    .label("Path On Client")
                    .create_only(),
                FieldDef::new("VersionData", T::Base64)
                    .label("Version Data")
                    .create_only(),
                FieldDef::new("Description", T::Textarea).len(1000),
                FieldDef::new("ReasonForChange", T::String)
                    .len(1000)
                    .label("Reason For Change"),
                // Set to add a version to an existing file; filled in on insert otherwise.
                FieldDef::new("ContentDocumentId", T::Reference)
                    .label("ContentDocument ID")
                    .refs(&["ContentDocument"])
                    .children("ContentVersions")
                    .create_only(),
                FieldDef::new("FirstPublishLocationId", T::Reference)
                    .label("First Publish Location ID")
                    .refs(FILE_PARENTS)
                    .create_only(),
                FieldDef::new("ContentLocation", T::Picklist)
                    .len(255)
                    .label("Content Location")
                    .restricted()
                    .create_only()
                    .defaulted(Some(json!("S")))
                    .values(&["S", "E", "L"]),
                FieldDef::new("ContentSize", T::Int)
                    .label("Size")
                    .read_only(),
                FieldDef::new("FileExtension", T::String)
                    .len(40)
                    .label("File Extension")
                    .read_only(),
                FieldDef::new("FileType", T::String)
                    .len(20)
                    .label("File Type")
                    .read_only(),
                FieldDef::new("IsLatest", T::Boolean)
                    .label("Is Latest")
                    .read_only(),
                FieldDef::new("VersionNumber", T::String)
                    .len(20)
                    .label("Version Number")
                    .read_only(),
                FieldDef::new("OwnerId", T::Reference)
                    .label("Owner ID")
                    .refs(&["User"])
                    .defaulted(None),
            ],
        );
        // ContentVersion supports no delete() call; deleting the ContentDocument removes versions.
        version.deletable = false;
        self.insert(version);

        let mut document = ObjectDef::new(
            "ContentDocument",
            "Content Document",
            "069",
            vec![
                FieldDef::new("Title", T::String).len(255).required(),
                FieldDef::new("LatestPublishedVersionId", T::Reference)
                    .label("Latest Published Version ID")
                    .refs(&["ContentVersion"])
                    .read_only(),
                FieldDef::new("FileExtension", T::String)
                    .len(40)
                    .label("File Extension")
                    .read_only(),
                FieldDef::new("FileType", T::String)
                    .len(20)
                    .label("File Type")
                    .read_only(),
                FieldDef::new("ContentSize", T::Int)
                    .label("Size")
                    .read_only(),
                FieldDef::new("Description", T::Textarea).len(1000),
                FieldDef::new("OwnerId", T::Reference)
                    .label("Owner ID")
                    .refs(&["User"])
                    .defaulted(None),
            ],
        );
        // Created only by inserting its first ContentVersion.
        document.createable = false;
        self.insert(document);

        let mut link = ObjectDef::new(
            "ContentDocumentLink",
            "Content Document Link",
            "06A",
            vec![
                FieldDef::new("ContentDocumentId", T::Reference)
                    .label("ContentDocument ID")
                    .refs(&["ContentDocument"])
                    .children("ContentDocumentLinks")
                    .required()
                    .create_only(),
                FieldDef::new("LinkedEntityId", T::Reference)
                    .label("Linked Entity ID")
                    .refs(FILE_PARENTS)
                    .children("ContentDocumentLinks")
                    .required()
                    .create_only(),
                // Described as nillable, yet "Required" on create (Object Reference).
                FieldDef::new("ShareType", T::Picklist)
                    .len(40)
                    .label("Share Type")
                    .required()
                    .restricted()
                    .values(&["V", "C", "I"]),
                FieldDef::new("Visibility", T::Picklist)
                    .len(40)
                    .restricted()
                    .defaulted(Some(json!("AllUsers")))
                    .values(&["AllUsers", "InternalUsers", "SharedUsers"]),
            ],
        );
        // A link has no owner and no created/modified audit fields, only SystemModstamp.
        link.fields.retain(|f| {
            !matches!(
                f.name.as_str(),
                "CreatedDate" | "CreatedById" | "LastModifiedDate" | "LastModifiedById"
            )
        });
        self.insert(link);
    }

    /// Lets files be published to and linked with records of `object` (a custom object).
    pub(crate) fn allow_files_on(&mut self, object: &str) {
        for (holder, field) in [
            ("ContentVersion", "FirstPublishLocationId"),
            ("ContentDocumentLink", "LinkedEntityId"),
        ] {
            let target = self
                .object_mut(holder)
                .and_then(|o| o.fields.iter_mut().find(|f| f.name == field));
            if let Some(f) = target
                && !f.reference_to.iter().any(|r| r == object)
            {
                f.reference_to.push(object.to_string());
            }
        }
    }
}
