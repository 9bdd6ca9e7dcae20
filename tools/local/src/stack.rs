//! The local stack: the template's queues and tables created in moto, and each function's
//! runtime settings (environment, event sources) resolved exactly as CloudFormation would.
//! Nothing here lists a resource by hand: a queue or table added to template.yaml is created
//! here, and a resource kind this module does not know is an error.

use crate::template::{Resolver, Resource, Template, TemplateError, resolve_string, scalar_string};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    PointInTimeRecoverySpecification, Projection, ProjectionType, ScalarAttributeType,
    SseSpecification, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_yaml_ng::Value as Yaml;
use std::collections::{BTreeMap, HashMap};
use thiserror::Error;

/// moto's default account.
pub const LOCAL_ACCOUNT: &str = "123456789012";
pub const LOCAL_REGION: &str = "us-east-1";
pub const LOCAL_STACK_NAME: &str = "chatsync-local";

/// Resource kinds the function host provides, and kinds deliberately not emulated.
const HOSTED: [&str; 2] = ["AWS::Serverless::Function", "AWS::Serverless::HttpApi"];
const NOT_EMULATED: [(&str, &str); 3] = [
    (
        "AWS::Logs::LogGroup",
        "functions log to files in the log directory locally",
    ),
    (
        "AWS::CloudWatch::Alarm",
        "CloudWatch alarms are not emulated locally",
    ),
    (
        "AWS::IAM::Role",
        "created with the functions' roles (see iam.rs), as SAM expands them",
    ),
];

#[derive(Debug, Error)]
pub enum StackError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("{logical_id} ({kind}): {reason}")]
    Unsupported {
        logical_id: String,
        kind: String,
        reason: String,
    },
    #[error("creating {what} in moto failed: {message}")]
    Aws { what: String, message: String },
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub stack_name: String,
    pub region: String,
    /// The AWS endpoint the stack lives on (moto), used to predict queue URLs.
    pub endpoint: String,
    pub parameter_overrides: BTreeMap<String, String>,
}

impl Settings {
    pub fn local(endpoint: &str) -> Self {
        Self {
            stack_name: LOCAL_STACK_NAME.into(),
            region: LOCAL_REGION.into(),
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            parameter_overrides: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueueSpec {
    pub logical_id: String,
    pub name: String,
    pub url: String,
    pub arn: String,
    pub attributes: BTreeMap<String, String>,
    /// The DLQ's logical id and maxReceiveCount.
    pub redrive: Option<(String, u32)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableSpec {
    pub logical_id: String,
    pub name: String,
    pub arn: String,
    pub properties: Yaml,
}

/// A KMS key and its aliases. Its id is fixed by the plan (a hash of stack and logical id),
/// so names resolve before it exists; the moto launcher honours the id through the
/// `chatsync:local-key-id` tag (tools/python/moto_iam_server.py).
#[derive(Debug, Clone, PartialEq)]
pub struct KeySpec {
    pub logical_id: String,
    pub key_id: String,
    pub arn: String,
    pub description: String,
    pub aliases: Vec<String>,
}

/// The tag through which the local stack asks moto for a key id (local only).
pub const LOCAL_KEY_ID_TAG: &str = "chatsync:local-key-id";

#[derive(Debug, Clone, PartialEq)]
pub struct SqsSource {
    pub queue_logical_id: String,
    pub batch_size: usize,
    pub report_batch_item_failures: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpRoute {
    pub method: String,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSpec {
    pub logical_id: String,
    pub name: String,
    pub binary: String,
    pub timeout_seconds: u64,
    pub memory_mb: u64,
    pub env: BTreeMap<String, String>,
    pub sqs_sources: Vec<SqsSource>,
    pub http_routes: Vec<HttpRoute>,
    /// Schedule expressions, e.g. `rate(5 minutes)`.
    pub schedules: Vec<String>,
}

/// Everything the local stack will create and run, resolved from the template.
#[derive(Debug, Clone)]
pub struct Plan {
    pub settings: Settings,
    pub queues: Vec<QueueSpec>,
    pub tables: Vec<TableSpec>,
    pub keys: Vec<KeySpec>,
    pub functions: Vec<FunctionSpec>,
    pub skipped: Vec<(String, String, String)>,
    pub names: Names,
}

impl Plan {
    pub fn queue(&self, logical_id: &str) -> Option<&QueueSpec> {
        self.queues.iter().find(|q| q.logical_id == logical_id)
    }

    pub fn function(&self, logical_id_or_binary: &str) -> Option<&FunctionSpec> {
        self.functions
            .iter()
            .find(|f| f.logical_id == logical_id_or_binary || f.binary == logical_id_or_binary)
    }
}

/// What `Ref` and `Fn::GetAtt` name on this stack; kept in the plan so later steps (IAM
/// policies) resolve against the same names.
#[derive(Debug, Clone)]
pub struct Names {
    settings: Settings,
    parameters: BTreeMap<String, Option<String>>,
    queues: HashMap<String, (String, String, String)>,
    tables: HashMap<String, (String, String)>,
    /// Key id and ARN.
    keys: HashMap<String, (String, String)>,
    functions: HashMap<String, String>,
}

impl Resolver for Names {
    fn reference(&self, name: &str) -> Option<String> {
        let s = &self.settings;
        match name {
            "AWS::StackName" => return Some(s.stack_name.clone()),
            "AWS::Region" => return Some(s.region.clone()),
            "AWS::AccountId" => return Some(LOCAL_ACCOUNT.into()),
            "AWS::Partition" => return Some("aws".into()),
            "AWS::URLSuffix" => return Some("amazonaws.com".into()),
            _ => {}
        }
        if let Some(v) = s.parameter_overrides.get(name) {
            return Some(v.clone());
        }
        if let Some(default) = self.parameters.get(name) {
            return default.clone();
        }
        if let Some((_, url, _)) = self.queues.get(name) {
            return Some(url.clone());
        }
        if let Some((table, _)) = self.tables.get(name) {
            return Some(table.clone());
        }
        if let Some((key_id, _)) = self.keys.get(name) {
            return Some(key_id.clone());
        }
        self.functions.get(name).cloned()
    }

    fn attribute(&self, id: &str, attr: &str) -> Option<String> {
        if let Some((name, url, arn)) = self.queues.get(id) {
            return match attr {
                "Arn" => Some(arn.clone()),
                "QueueName" => Some(name.clone()),
                "QueueUrl" => Some(url.clone()),
                _ => None,
            };
        }
        if let Some((name, arn)) = self.tables.get(id) {
            return match attr {
                "Arn" => Some(arn.clone()),
                "TableName" => Some(name.clone()),
                _ => None,
            };
        }
        if let Some((key_id, arn)) = self.keys.get(id) {
            return match attr {
                "Arn" => Some(arn.clone()),
                "KeyId" => Some(key_id.clone()),
                _ => None,
            };
        }
        None
    }
}

/// Resolves the template into a plan, validating what Lambda and CloudFormation would refuse.
pub fn plan(template: &Template, settings: &Settings) -> Result<Plan, StackError> {
    let mut names = Names {
        settings: settings.clone(),
        parameters: template.parameters.clone(),
        queues: HashMap::new(),
        tables: HashMap::new(),
        keys: HashMap::new(),
        functions: HashMap::new(),
    };
    let mut skipped = Vec::new();
    for r in template.resources.values() {
        let known = HOSTED.contains(&r.kind.as_str())
            || r.kind == "AWS::SQS::Queue"
            || r.kind == "AWS::DynamoDB::Table"
            || r.kind == "AWS::KMS::Key"
            || r.kind == "AWS::KMS::Alias";
        if let Some((_, reason)) = NOT_EMULATED.iter().find(|(k, _)| *k == r.kind) {
            skipped.push((r.logical_id.clone(), r.kind.clone(), (*reason).to_owned()));
        } else if !known {
            return Err(unsupported(
                r,
                "the local stack does not know how to create this kind; teach tools/local/src/stack.rs",
            ));
        }
    }
    // Names first (they only depend on parameters and pseudo parameters) so later
    // properties can reference any resource.
    for r in template.of_kind("AWS::SQS::Queue") {
        let name = match r.properties.get("QueueName") {
            Some(v) => resolve_string(v, &names)?,
            None => generated_name(settings, &r.logical_id, is_fifo(&r.properties)),
        };
        let url = format!("{}/{}/{}", settings.endpoint, LOCAL_ACCOUNT, name);
        let arn = format!("arn:aws:sqs:{}:{}:{}", settings.region, LOCAL_ACCOUNT, name);
        names.queues.insert(r.logical_id.clone(), (name, url, arn));
    }
    for r in template.of_kind("AWS::DynamoDB::Table") {
        let name = match r.properties.get("TableName") {
            Some(v) => resolve_string(v, &names)?,
            None => generated_name(settings, &r.logical_id, false),
        };
        let arn = format!(
            "arn:aws:dynamodb:{}:{}:table/{}",
            settings.region, LOCAL_ACCOUNT, name
        );
        names.tables.insert(r.logical_id.clone(), (name, arn));
    }
    for r in template.of_kind("AWS::KMS::Key") {
        let key_id = local_key_id(settings, &r.logical_id);
        let arn = format!(
            "arn:aws:kms:{}:{}:key/{key_id}",
            settings.region, LOCAL_ACCOUNT
        );
        names.keys.insert(r.logical_id.clone(), (key_id, arn));
    }
    for r in template.of_kind("AWS::Serverless::Function") {
        let name = match r.properties.get("FunctionName") {
            Some(v) => resolve_string(v, &names)?,
            None => generated_name(settings, &r.logical_id, false),
        };
        names.functions.insert(r.logical_id.clone(), name);
    }

    let mut queues = Vec::new();
    for r in template.of_kind("AWS::SQS::Queue") {
        queues.push(queue_spec(r, &names)?);
    }
    let tables = template
        .of_kind("AWS::DynamoDB::Table")
        .map(|r| {
            let (name, arn) = names.tables[&r.logical_id].clone();
            TableSpec {
                logical_id: r.logical_id.clone(),
                name,
                arn,
                properties: r.properties.clone(),
            }
        })
        .collect();
    let mut functions = Vec::new();
    for r in template.of_kind("AWS::Serverless::Function") {
        functions.push(function_spec(r, template, &names)?);
    }
    let mut keys = Vec::new();
    for r in template.of_kind("AWS::KMS::Key") {
        let (key_id, arn) = names.keys[&r.logical_id].clone();
        let description = match r.properties.get("Description") {
            Some(v) => resolve_string(v, &names)?,
            None => String::new(),
        };
        let mut aliases = Vec::new();
        for a in template.of_kind("AWS::KMS::Alias") {
            let target = a
                .properties
                .get("TargetKeyId")
                .map(|v| resolve_string(v, &names))
                .transpose()?;
            if target.as_deref() == Some(key_id.as_str()) || target.as_deref() == Some(arn.as_str())
            {
                let name = a
                    .properties
                    .get("AliasName")
                    .ok_or_else(|| unsupported(a, "an alias needs AliasName"))?;
                aliases.push(resolve_string(name, &names)?);
            }
        }
        keys.push(KeySpec {
            logical_id: r.logical_id.clone(),
            key_id,
            arn,
            description,
            aliases,
        });
    }
    Ok(Plan {
        settings: settings.clone(),
        queues,
        tables,
        keys,
        functions,
        skipped,
        names,
    })
}

fn unsupported(r: &Resource, reason: impl Into<String>) -> StackError {
    StackError::Unsupported {
        logical_id: r.logical_id.clone(),
        kind: r.kind.clone(),
        reason: reason.into(),
    }
}

fn is_fifo(props: &Yaml) -> bool {
    props
        .get("FifoQueue")
        .and_then(Yaml::as_bool)
        .unwrap_or(false)
}

/// A key id in KMS's UUID form, fixed per stack and logical id.
fn local_key_id(settings: &Settings, logical_id: &str) -> String {
    use sha2::Digest;
    let h = hex::encode(sha2::Sha256::digest(
        format!("{}/{logical_id}", settings.stack_name).as_bytes(),
    ));
    format!(
        "{}-{}-4{}-8{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// CloudFormation's `{stack}-{LogicalId}-{suffix}`, without the random suffix locally.
fn generated_name(settings: &Settings, logical_id: &str, fifo: bool) -> String {
    let base = format!("{}-{}", settings.stack_name, logical_id);
    if fifo { format!("{base}.fifo") } else { base }
}

/// SQS attributes CloudFormation passes through under the same name.
const QUEUE_ATTRIBUTES: [&str; 9] = [
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "SqsManagedSseEnabled",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
];

fn queue_spec(r: &Resource, names: &Names) -> Result<QueueSpec, StackError> {
    let (name, url, arn) = names.queues[&r.logical_id].clone();
    let mut attributes = BTreeMap::new();
    let mut redrive = None;
    let props = r.properties.as_mapping().cloned().unwrap_or_default();
    for (key, value) in &props {
        let key = key.as_str().unwrap_or_default();
        match key {
            "QueueName" | "Tags" => {}
            "RedrivePolicy" => {
                let target = value
                    .get("deadLetterTargetArn")
                    .ok_or_else(|| unsupported(r, "RedrivePolicy without deadLetterTargetArn"))?;
                let target_arn = resolve_string(target, names)?;
                let dlq = names
                    .queues
                    .iter()
                    .find(|(_, (_, _, a))| *a == target_arn)
                    .map(|(id, _)| id.clone())
                    .ok_or_else(|| {
                        unsupported(r, format!("DLQ {target_arn} is not in the template"))
                    })?;
                let max = value
                    .get("maxReceiveCount")
                    .map(|v| resolve_string(v, names))
                    .transpose()?
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| {
                        unsupported(r, "RedrivePolicy needs a numeric maxReceiveCount")
                    })?;
                attributes.insert(
                    "RedrivePolicy".into(),
                    serde_json::json!({"deadLetterTargetArn": target_arn, "maxReceiveCount": max})
                        .to_string(),
                );
                redrive = Some((dlq, max));
            }
            k if QUEUE_ATTRIBUTES.contains(&k) => {
                attributes.insert(k.to_owned(), resolve_string(value, names)?);
            }
            other => {
                return Err(unsupported(
                    r,
                    format!("property {other} is not applied locally"),
                ));
            }
        }
    }
    Ok(QueueSpec {
        logical_id: r.logical_id.clone(),
        name,
        url,
        arn,
        attributes,
        redrive,
    })
}

fn function_spec(
    r: &Resource,
    template: &Template,
    names: &Names,
) -> Result<FunctionSpec, StackError> {
    let globals = &template.globals_function;
    let prop = |key: &str| r.properties.get(key).or_else(|| globals.get(key));
    let binary = r
        .metadata
        .get("BuildProperties")
        .and_then(|b| b.get("Binary"))
        .and_then(Yaml::as_str)
        .ok_or_else(|| {
            unsupported(
                r,
                "Metadata.BuildProperties.Binary is required (rust-cargolambda)",
            )
        })?
        .to_owned();
    let number = |key: &str, default: u64| -> Result<u64, StackError> {
        match prop(key) {
            Some(v) => resolve_string(v, names)?
                .parse()
                .map_err(|_| unsupported(r, format!("{key} is not a number"))),
            None => Ok(default),
        }
    };
    let timeout_seconds = number("Timeout", 3)?;
    let memory_mb = number("MemorySize", 128)?;

    let mut env = BTreeMap::new();
    for source in [globals, &r.properties] {
        if let Some(vars) = source
            .get("Environment")
            .and_then(|e| e.get("Variables"))
            .and_then(Yaml::as_mapping)
        {
            for (k, v) in vars {
                env.insert(
                    k.as_str().unwrap_or_default().to_owned(),
                    resolve_string(v, names)?,
                );
            }
        }
    }
    if let Some(logging) = prop("LoggingConfig") {
        if let Some(format) = logging.get("LogFormat") {
            env.insert(
                "AWS_LAMBDA_LOG_FORMAT".into(),
                resolve_string(format, names)?,
            );
        }
        if let Some(level) = logging.get("ApplicationLogLevel") {
            env.insert("AWS_LAMBDA_LOG_LEVEL".into(), resolve_string(level, names)?);
        }
    }

    let mut spec = FunctionSpec {
        logical_id: r.logical_id.clone(),
        name: names.functions[&r.logical_id].clone(),
        binary,
        timeout_seconds,
        memory_mb,
        env,
        sqs_sources: Vec::new(),
        http_routes: Vec::new(),
        schedules: Vec::new(),
    };
    let events = r
        .properties
        .get("Events")
        .and_then(Yaml::as_mapping)
        .cloned()
        .unwrap_or_default();
    for (event_id, event) in &events {
        let event_id = event_id.as_str().unwrap_or_default();
        let kind = event.get("Type").and_then(Yaml::as_str).unwrap_or_default();
        let p = event.get("Properties").cloned().unwrap_or(Yaml::Null);
        match kind {
            "SQS" => spec.sqs_sources.push(sqs_source(r, event_id, &p, names)?),
            "HttpApi" => spec.http_routes.push(HttpRoute {
                method: p
                    .get("Method")
                    .and_then(scalar_string)
                    .unwrap_or_default()
                    .to_uppercase(),
                path: p.get("Path").and_then(scalar_string).unwrap_or_default(),
            }),
            "Schedule" => spec.schedules.push(
                p.get("Schedule")
                    .map(|s| resolve_string(s, names))
                    .transpose()?
                    .ok_or_else(|| unsupported(r, format!("event {event_id} has no Schedule")))?,
            ),
            other => {
                return Err(unsupported(
                    r,
                    format!("event {event_id}: type {other} is not wired locally"),
                ));
            }
        }
    }
    Ok(spec)
}

fn sqs_source(
    r: &Resource,
    event_id: &str,
    p: &Yaml,
    names: &Names,
) -> Result<SqsSource, StackError> {
    let arn = resolve_string(
        p.get("Queue")
            .ok_or_else(|| unsupported(r, format!("event {event_id} has no Queue")))?,
        names,
    )?;
    let queue_logical_id = names
        .queues
        .iter()
        .find(|(_, (_, _, a))| *a == arn)
        .map(|(id, _)| id.clone())
        .ok_or_else(|| {
            unsupported(
                r,
                format!("event {event_id}: queue {arn} is not in the template"),
            )
        })?;
    let fifo = names.queues[&queue_logical_id].0.ends_with(".fifo");
    let batch_size = match p.get("BatchSize") {
        Some(v) => resolve_string(v, names)?
            .parse::<usize>()
            .map_err(|_| unsupported(r, format!("event {event_id}: BatchSize is not a number")))?,
        None => 10,
    };
    // Lambda's limits: 1..=10 for FIFO queues, 1..=10000 for standard ones.
    let max = if fifo { 10 } else { 10_000 };
    if batch_size == 0 || batch_size > max {
        return Err(unsupported(
            r,
            format!("event {event_id}: BatchSize {batch_size} outside 1..={max}"),
        ));
    }
    let mut report = false;
    if let Some(types) = p.get("FunctionResponseTypes") {
        let types = types
            .as_sequence()
            .ok_or_else(|| unsupported(r, "FunctionResponseTypes must be a list"))?;
        for t in types {
            match t.as_str() {
                Some("ReportBatchItemFailures") => report = true,
                other => {
                    return Err(unsupported(
                        r,
                        format!(
                            "event {event_id}: FunctionResponseTypes value {:?} is not valid; Lambda accepts only ReportBatchItemFailures",
                            other.unwrap_or("?")
                        ),
                    ));
                }
            }
        }
    }
    Ok(SqsSource {
        queue_logical_id,
        batch_size,
        report_batch_item_failures: report,
    })
}

/// Creates the plan's queues (DLQs first) and tables in the account `sdk` points at.
pub async fn create(plan: &Plan, sdk: &aws_config::SdkConfig) -> Result<Vec<String>, StackError> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let dynamo = aws_sdk_dynamodb::Client::new(sdk);
    let mut created = Vec::new();
    let mut ordered: Vec<&QueueSpec> = plan.queues.iter().collect();
    ordered.sort_by_key(|q| q.redrive.is_some());
    for q in ordered {
        let mut req = sqs.create_queue().queue_name(&q.name);
        for (k, v) in &q.attributes {
            req = req.attributes(QueueAttributeName::from(k.as_str()), v);
        }
        req.send().await.map_err(|e| StackError::Aws {
            what: format!("queue {}", q.name),
            message: aws_sdk_sqs::error::DisplayErrorContext(e).to_string(),
        })?;
        created.push(format!("queue  {:<24} {}", q.logical_id, q.url));
    }
    for t in &plan.tables {
        create_table(&dynamo, t).await?;
        created.push(format!("table  {:<24} {}", t.logical_id, t.name));
    }
    let kms = aws_sdk_kms::Client::new(sdk);
    for k in &plan.keys {
        let err = |e: String| StackError::Aws {
            what: format!("key {}", k.logical_id),
            message: e,
        };
        let tag = aws_sdk_kms::types::Tag::builder()
            .tag_key(LOCAL_KEY_ID_TAG)
            .tag_value(&k.key_id)
            .build()
            .map_err(|e| err(e.to_string()))?;
        kms.create_key()
            .description(&k.description)
            .tags(tag)
            .send()
            .await
            .map_err(|e| err(aws_sdk_kms::error::DisplayErrorContext(e).to_string()))?;
        for alias in &k.aliases {
            kms.create_alias()
                .alias_name(alias)
                .target_key_id(&k.key_id)
                .send()
                .await
                .map_err(|e| err(aws_sdk_kms::error::DisplayErrorContext(e).to_string()))?;
        }
        created.push(format!("key    {:<24} {}", k.logical_id, k.arn));
    }
    Ok(created)
}

async fn create_table(dynamo: &aws_sdk_dynamodb::Client, t: &TableSpec) -> Result<(), StackError> {
    let err = |message: String| StackError::Aws {
        what: format!("table {}", t.name),
        message,
    };
    let p = &t.properties;
    let key_schema = |v: Option<&Yaml>| -> Result<Vec<KeySchemaElement>, StackError> {
        v.and_then(Yaml::as_sequence)
            .ok_or_else(|| err("KeySchema missing".into()))?
            .iter()
            .map(|k| {
                KeySchemaElement::builder()
                    .attribute_name(
                        k.get("AttributeName")
                            .and_then(scalar_string)
                            .unwrap_or_default(),
                    )
                    .key_type(KeyType::from(
                        k.get("KeyType").and_then(Yaml::as_str).unwrap_or_default(),
                    ))
                    .build()
                    .map_err(|e| err(e.to_string()))
            })
            .collect()
    };
    let mut req = dynamo
        .create_table()
        .table_name(&t.name)
        .set_key_schema(Some(key_schema(p.get("KeySchema"))?))
        .billing_mode(BillingMode::from(
            p.get("BillingMode")
                .and_then(Yaml::as_str)
                .unwrap_or("PROVISIONED"),
        ));
    for a in p
        .get("AttributeDefinitions")
        .and_then(Yaml::as_sequence)
        .into_iter()
        .flatten()
    {
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(
                    a.get("AttributeName")
                        .and_then(scalar_string)
                        .unwrap_or_default(),
                )
                .attribute_type(ScalarAttributeType::from(
                    a.get("AttributeType")
                        .and_then(Yaml::as_str)
                        .unwrap_or_default(),
                ))
                .build()
                .map_err(|e| err(e.to_string()))?,
        );
    }
    for g in p
        .get("GlobalSecondaryIndexes")
        .and_then(Yaml::as_sequence)
        .into_iter()
        .flatten()
    {
        let projection = g
            .get("Projection")
            .and_then(|p| p.get("ProjectionType"))
            .and_then(Yaml::as_str)
            .unwrap_or("ALL");
        req = req.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(
                    g.get("IndexName")
                        .and_then(scalar_string)
                        .unwrap_or_default(),
                )
                .set_key_schema(Some(key_schema(g.get("KeySchema"))?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(projection))
                        .set_non_key_attributes(
                            g.get("Projection")
                                .and_then(|p| p.get("NonKeyAttributes"))
                                .and_then(Yaml::as_sequence)
                                .map(|list| list.iter().filter_map(scalar_string).collect()),
                        )
                        .build(),
                )
                .build()
                .map_err(|e| err(e.to_string()))?,
        );
    }
    if let Some(enabled) = p
        .get("SSESpecification")
        .and_then(|s| s.get("SSEEnabled"))
        .and_then(Yaml::as_bool)
    {
        req = req.sse_specification(SseSpecification::builder().enabled(enabled).build());
    }
    match req.send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) => {}
        Err(e) => {
            return Err(err(
                aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()
            ));
        }
    }
    if let Some(ttl) = p.get("TimeToLiveSpecification") {
        let attribute = ttl
            .get("AttributeName")
            .and_then(scalar_string)
            .unwrap_or_default();
        let enabled = ttl.get("Enabled").and_then(Yaml::as_bool).unwrap_or(false);
        dynamo
            .update_time_to_live()
            .table_name(&t.name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attribute)
                    .enabled(enabled)
                    .build()
                    .map_err(|e| err(e.to_string()))?,
            )
            .send()
            .await
            .map_err(|e| err(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
    }
    if let Some(enabled) = p
        .get("PointInTimeRecoverySpecification")
        .and_then(|s| s.get("PointInTimeRecoveryEnabled"))
        .and_then(Yaml::as_bool)
    {
        dynamo
            .update_continuous_backups()
            .table_name(&t.name)
            .point_in_time_recovery_specification(
                PointInTimeRecoverySpecification::builder()
                    .point_in_time_recovery_enabled(enabled)
                    .build()
                    .map_err(|e| err(e.to_string()))?,
            )
            .send()
            .await
            .map_err(|e| err(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = include_str!("../../../template.yaml");

    fn local_plan(text: &str) -> Result<Plan, StackError> {
        plan(
            &Template::parse(text).unwrap(),
            &Settings::local("http://127.0.0.1:4566"),
        )
    }

    #[test]
    fn the_template_resolves_into_queues_tables_and_functions() {
        let p = local_plan(TEMPLATE).unwrap();
        let resolve = p.queue("ResolveQueue").unwrap();
        assert_eq!(resolve.name, "chatsync-local-resolve.fifo");
        assert_eq!(resolve.redrive, Some(("ResolveDeadLetterQueue".into(), 5)));
        let resolver = p.function("identity-resolver").unwrap();
        assert_eq!(resolver.sqs_sources[0].queue_logical_id, "ResolveQueue");
        assert!(resolver.sqs_sources[0].report_batch_item_failures);
        assert_eq!(
            resolver.env["WRITE_QUEUE_URL"],
            "http://127.0.0.1:4566/123456789012/chatsync-local-write.fifo"
        );
        assert_eq!(
            resolver.env["TENANT_SECRET_PREFIX"],
            "chatsync-local/tenants/"
        );
        assert_eq!(resolver.env["AWS_LAMBDA_LOG_FORMAT"], "JSON");
        let intake = p.function("webhook-intake").unwrap();
        assert_eq!(intake.http_routes.len(), 2);
        assert_eq!(
            p.function("retry-drainer").unwrap().schedules,
            ["rate(5 minutes)"]
        );
        assert_eq!(p.tables.len(), 7);
    }

    #[test]
    fn visibility_is_at_least_six_times_the_consumer_timeout() {
        let p = local_plan(TEMPLATE).unwrap();
        for f in &p.functions {
            for s in &f.sqs_sources {
                let q = p.queue(&s.queue_logical_id).unwrap();
                let visibility: u64 = q.attributes["VisibilityTimeout"].parse().unwrap();
                assert!(
                    visibility >= 6 * f.timeout_seconds,
                    "{} vs {}",
                    q.name,
                    f.name
                );
            }
        }
    }

    #[test]
    fn a_misspelt_function_response_type_is_refused() {
        let bad = TEMPLATE.replace("[ReportBatchItemFailures]", "[ReportBatchItemFailure]");
        let err = local_plan(&bad).unwrap_err().to_string();
        assert!(err.contains("FunctionResponseTypes"), "{err}");
    }

    #[test]
    fn an_unknown_resource_kind_is_refused_not_ignored() {
        let extra = format!("{TEMPLATE}\n  Extra:\n    Type: AWS::SNS::Topic\n");
        // Appending after Outputs would land in Outputs; insert under Resources instead.
        let extra = extra.replacen(
            "Resources:\n",
            "Resources:\n  ExtraTopic:\n    Type: AWS::SNS::Topic\n",
            1,
        );
        assert!(matches!(
            local_plan(&extra),
            Err(StackError::Unsupported { .. })
        ));
    }
}
