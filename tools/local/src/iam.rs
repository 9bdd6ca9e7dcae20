//! IAM on the local stack, enforced as in AWS. moto authenticates every request and evaluates
//! the caller's policies (tools/python/moto_iam_server.py names each call's table or secret,
//! which moto alone leaves as "*"). The operator — the host's own bookkeeping, tests, the CLI —
//! signs as an IAM user allowed everything; each function signs with a session of its own role,
//! carrying exactly the policies SAM gives that role (tools/python/sam_policies.py runs SAM's
//! translator). A call the template does not allow fails locally as it would in AWS.

use crate::stack::Plan;
use crate::template::{Resolver, resolve_string};
use crate::tools::{ProcError, venv_python};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use thiserror::Error;

const SAM_POLICIES: &str = include_str!("../../python/sam_policies.py");

/// The IAM user the operator signs as (allowed everything, as an administrator is).
pub const OPERATOR_USER: &str = "chatsync-operator";

#[derive(Debug, Error)]
pub enum IamError {
    #[error(transparent)]
    Proc(#[from] ProcError),
    #[error("expanding the template's policies: {0}")]
    Expand(String),
    #[error("{function}: {reason}")]
    Resolve { function: String, reason: String },
    #[error("{what} in moto's IAM failed: {message}")]
    Aws { what: String, message: String },
}

/// Keys an SDK signs with.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({})", self.access_key_id)
    }
}

impl Credentials {
    /// What moto accepts before enforcement is switched on (any key at all).
    pub fn unenforced() -> Self {
        Self {
            access_key_id: "testing".into(),
            secret_access_key: "testing".into(),
            session_token: None,
        }
    }

    pub fn provider(&self) -> aws_sdk_sqs::config::Credentials {
        aws_sdk_sqs::config::Credentials::new(
            &self.access_key_id,
            &self.secret_access_key,
            self.session_token.clone(),
            None,
            "chatsync-local",
        )
    }

    /// The standard variables, as Lambda sets them for a function's role.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("AWS_ACCESS_KEY_ID".to_owned(), self.access_key_id.clone()),
            (
                "AWS_SECRET_ACCESS_KEY".to_owned(),
                self.secret_access_key.clone(),
            ),
        ];
        if let Some(token) = &self.session_token {
            env.push(("AWS_SESSION_TOKEN".to_owned(), token.clone()));
        }
        env
    }
}

/// The environment every local function and tool uses to reach moto: the standard variables
/// only, so no handler knows it is local; `credentials` are the caller's identity.
pub fn aws_env(endpoint: &str, credentials: &Credentials) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_REGION", crate::stack::LOCAL_REGION),
        ("AWS_DEFAULT_REGION", crate::stack::LOCAL_REGION),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    env.extend(credentials.env());
    env
}

/// SDK config pointed at `endpoint`, signing with `credentials`.
pub async fn sdk_config(endpoint: &str, credentials: &Credentials) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(crate::stack::LOCAL_REGION))
        .credentials_provider(credentials.provider())
        .load()
        .await
}

fn aws_error(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> IamError {
    IamError::Aws {
        what: what.to_owned(),
        message: aws_sdk_iam::error::DisplayErrorContext(e).to_string(),
    }
}

/// Creates the operator user with an access key, then switches enforcement on; from here on
/// every request must be signed by a known identity and allowed by its policies.
pub(crate) async fn enforce(endpoint: &str) -> Result<Credentials, IamError> {
    let sdk = sdk_config(endpoint, &Credentials::unenforced()).await;
    let iam = aws_sdk_iam::Client::new(&sdk);
    iam.create_user()
        .user_name(OPERATOR_USER)
        .send()
        .await
        .map_err(|e| aws_error("creating the operator user", e))?;
    let everything = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
    });
    iam.put_user_policy()
        .user_name(OPERATOR_USER)
        .policy_name("operator")
        .policy_document(everything.to_string())
        .send()
        .await
        .map_err(|e| aws_error("the operator's policy", e))?;
    let key = iam
        .create_access_key()
        .user_name(OPERATOR_USER)
        .send()
        .await
        .map_err(|e| aws_error("the operator's access key", e))?;
    let key = key.access_key.ok_or_else(|| IamError::Aws {
        what: "the operator's access key".into(),
        message: "no key in the answer".into(),
    })?;
    // moto's own switch: after 0 more unauthenticated requests, authenticate and authorise all.
    let answer = reqwest::Client::new()
        .post(format!("{endpoint}/moto-api/reset-auth"))
        .body("0")
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| IamError::Aws {
            what: "switching enforcement on".into(),
            message: e.to_string(),
        })?;
    drop(answer);
    Ok(Credentials {
        access_key_id: key.access_key_id,
        secret_access_key: key.secret_access_key,
        session_token: None,
    })
}

/// One function's role as SAM expands the template, intrinsics unresolved.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct RoleSpec {
    pub role: String,
    pub policies: Vec<NamedPolicy>,
    /// AWS managed policies (logging, tracing): not in moto, and no local call needs them.
    #[serde(default)]
    pub managed: Vec<Value>,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct NamedPolicy {
    pub name: String,
    pub document: Value,
}

/// Each function's role and policies, by the function's logical id, from SAM's translator.
pub fn expand(template: &Path) -> Result<BTreeMap<String, RoleSpec>, IamError> {
    let output = std::process::Command::new(venv_python()?)
        .arg("-c")
        .arg(SAM_POLICIES)
        .arg(template)
        .env("AWS_DEFAULT_REGION", crate::stack::LOCAL_REGION)
        .output()
        .map_err(|e| IamError::Expand(e.to_string()))?;
    if !output.status.success() {
        return Err(IamError::Expand(
            String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        ));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| IamError::Expand(e.to_string()))
}

/// A policy document with every intrinsic resolved against the stack's names.
pub fn resolve(document: &Value, names: &dyn Resolver) -> Result<Value, String> {
    match document {
        Value::Object(map) if map.len() == 1 && is_intrinsic(map.keys().next()) => {
            let yaml: serde_yaml_ng::Value =
                serde_yaml_ng::to_value(document).map_err(|e| e.to_string())?;
            resolve_string(&yaml, names)
                .map(Value::String)
                .map_err(|e| e.to_string())
        }
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| Ok((k.clone(), resolve(v, names)?)))
            .collect::<Result<serde_json::Map<_, _>, String>>()
            .map(Value::Object),
        Value::Array(items) => items
            .iter()
            .map(|v| resolve(v, names))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

fn is_intrinsic(key: Option<&String>) -> bool {
    key.is_some_and(|k| k == "Ref" || k.starts_with("Fn::"))
}

/// Creates each function's role with its resolved policies and returns a session of it per
/// function binary (Lambda names the session after the function).
pub async fn function_roles(
    roles: &BTreeMap<String, RoleSpec>,
    plan: &Plan,
    operator: &aws_config::SdkConfig,
) -> Result<BTreeMap<String, Credentials>, IamError> {
    let iam = aws_sdk_iam::Client::new(operator);
    let sts = aws_sdk_sts::Client::new(operator);
    // In AWS the Lambda service assumes the role; locally the operator stands in for it.
    // (moto cannot evaluate a Service principal in a trust policy.)
    let operator_arn = format!(
        "arn:aws:iam::{}:user/{OPERATOR_USER}",
        crate::stack::LOCAL_ACCOUNT
    );
    let trust = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": operator_arn},
            "Action": "sts:AssumeRole"
        }]
    });
    let mut out = BTreeMap::new();
    for function in &plan.functions {
        let spec = roles
            .get(&function.logical_id)
            .ok_or_else(|| IamError::Resolve {
                function: function.logical_id.clone(),
                reason: "SAM's translation has no role for it".into(),
            })?;
        let role_name = format!("{}-{}", plan.settings.stack_name, spec.role);
        let created = iam
            .create_role()
            .role_name(&role_name)
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .map_err(|e| aws_error(&format!("creating role {role_name}"), e))?;
        let arn = created.role.map(|r| r.arn).unwrap_or_default();
        for policy in &spec.policies {
            let document =
                resolve(&policy.document, &plan.names).map_err(|reason| IamError::Resolve {
                    function: function.logical_id.clone(),
                    reason,
                })?;
            iam.put_role_policy()
                .role_name(&role_name)
                .policy_name(&policy.name)
                .policy_document(document.to_string())
                .send()
                .await
                .map_err(|e| aws_error(&format!("policy {} of {role_name}", policy.name), e))?;
        }
        let session = sts
            .assume_role()
            .role_arn(&arn)
            .role_session_name(&function.name)
            .send()
            .await
            .map_err(|e| aws_error(&format!("assuming {role_name}"), e))?;
        let keys = session.credentials.ok_or_else(|| IamError::Aws {
            what: format!("assuming {role_name}"),
            message: "no credentials in the answer".into(),
        })?;
        out.insert(
            function.binary.clone(),
            Credentials {
                access_key_id: keys.access_key_id,
                secret_access_key: keys.secret_access_key,
                session_token: Some(keys.session_token),
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;
    impl Resolver for Fixed {
        fn reference(&self, name: &str) -> Option<String> {
            (name == "AWS::Region").then(|| "r".into())
        }
        fn attribute(&self, id: &str, attr: &str) -> Option<String> {
            (id == "T" && attr == "Arn").then(|| "arn:t".into())
        }
    }

    #[test]
    fn intrinsics_resolve_anywhere_in_a_document() {
        let doc = serde_json::json!({
            "Statement": [{
                "Action": ["dynamodb:GetItem"],
                "Resource": [{"Fn::GetAtt": ["T", "Arn"]}, {"Fn::Sub": "${T.Arn}/index/*"}],
                "Condition": {"StringEquals": {"aws:RequestedRegion": {"Ref": "AWS::Region"}}}
            }]
        });
        let out = resolve(&doc, &Fixed).unwrap();
        assert_eq!(
            out["Statement"][0]["Resource"],
            serde_json::json!(["arn:t", "arn:t/index/*"])
        );
        assert_eq!(
            out["Statement"][0]["Condition"]["StringEquals"]["aws:RequestedRegion"],
            "r"
        );
        assert_eq!(out["Statement"][0]["Action"][0], "dynamodb:GetItem");
    }

    #[test]
    fn an_unknown_name_is_an_error_not_a_wildcard() {
        let doc = serde_json::json!({"Resource": {"Fn::GetAtt": ["Missing", "Arn"]}});
        assert!(resolve(&doc, &Fixed).is_err());
    }
}
