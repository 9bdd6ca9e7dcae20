//! Reads template.yaml as CloudFormation would for the parts the local stack needs: resources,
//! parameters, Globals, and the intrinsics `Ref`, `Fn::GetAtt` and `Fn::Sub` (short and long
//! forms). Anything it cannot resolve is an error, never a silent guess.

use serde_yaml_ng::Value as Yaml;
use serde_yaml_ng::value::TaggedValue;
use std::collections::BTreeMap;
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("template is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml_ng::Error),
    #[error("template: {0}")]
    Invalid(String),
    #[error("cannot resolve {0}")]
    Unresolved(String),
}

/// A resource as written in the template (SAM, before transformation).
#[derive(Debug, Clone)]
pub struct Resource {
    pub logical_id: String,
    pub kind: String,
    pub properties: Yaml,
    pub metadata: Yaml,
}

#[derive(Debug, Clone)]
pub struct Template {
    pub resources: BTreeMap<String, Resource>,
    pub parameters: BTreeMap<String, Option<String>>,
    pub globals_function: Yaml,
}

impl Template {
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let doc: Yaml = serde_yaml_ng::from_str(text)?;
        let mut resources = BTreeMap::new();
        let raw = doc
            .get("Resources")
            .and_then(Yaml::as_mapping)
            .ok_or_else(|| TemplateError::Invalid("no Resources".into()))?;
        for (id, body) in raw {
            let logical_id = id
                .as_str()
                .ok_or_else(|| TemplateError::Invalid("non-string logical id".into()))?
                .to_owned();
            let kind = body
                .get("Type")
                .and_then(Yaml::as_str)
                .ok_or_else(|| TemplateError::Invalid(format!("{logical_id} has no Type")))?
                .to_owned();
            resources.insert(
                logical_id.clone(),
                Resource {
                    logical_id,
                    kind,
                    properties: body.get("Properties").cloned().unwrap_or(Yaml::Null),
                    metadata: body.get("Metadata").cloned().unwrap_or(Yaml::Null),
                },
            );
        }
        let mut parameters = BTreeMap::new();
        if let Some(params) = doc.get("Parameters").and_then(Yaml::as_mapping) {
            for (name, body) in params {
                let name = name.as_str().unwrap_or_default().to_owned();
                let default = body.get("Default").and_then(scalar_string);
                parameters.insert(name, default);
            }
        }
        let globals_function = doc
            .get("Globals")
            .and_then(|g| g.get("Function"))
            .cloned()
            .unwrap_or(Yaml::Null);
        Ok(Self {
            resources,
            parameters,
            globals_function,
        })
    }

    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Resource> + 'a {
        self.resources.values().filter(move |r| r.kind == kind)
    }
}

pub fn scalar_string(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// What a `Ref` or `Fn::GetAtt` resolves to; implemented by the local stack.
pub trait Resolver {
    fn reference(&self, name: &str) -> Option<String>;
    fn attribute(&self, logical_id: &str, attribute: &str) -> Option<String>;
}

/// The intrinsic a value is, if it is one (short `!Ref x` or long `{Ref: x}` form).
pub enum Intrinsic<'a> {
    Ref(&'a Yaml),
    GetAtt(&'a Yaml),
    Sub(&'a Yaml),
    Other(String),
}

pub fn intrinsic(v: &Yaml) -> Option<Intrinsic<'_>> {
    match v {
        Yaml::Tagged(t) => {
            let TaggedValue { tag, value } = t.as_ref();
            let name = tag.to_string();
            Some(match name.trim_start_matches('!') {
                "Ref" => Intrinsic::Ref(value),
                "GetAtt" => Intrinsic::GetAtt(value),
                "Sub" => Intrinsic::Sub(value),
                other => Intrinsic::Other(other.to_owned()),
            })
        }
        Yaml::Mapping(m) if m.len() == 1 => {
            let (k, value) = m.iter().next()?;
            Some(match k.as_str()? {
                "Ref" => Intrinsic::Ref(value),
                "Fn::GetAtt" => Intrinsic::GetAtt(value),
                "Fn::Sub" => Intrinsic::Sub(value),
                other if other.starts_with("Fn::") => Intrinsic::Other(other.to_owned()),
                _ => return None,
            })
        }
        _ => None,
    }
}

/// Resolves a scalar-valued property (a string, number, or intrinsic yielding a string).
pub fn resolve_string(v: &Yaml, r: &dyn Resolver) -> Result<String, TemplateError> {
    if let Some(s) = scalar_string(v) {
        return Ok(s);
    }
    match intrinsic(v) {
        Some(Intrinsic::Ref(name)) => {
            let name = name
                .as_str()
                .ok_or_else(|| TemplateError::Invalid("Ref of a non-string".into()))?;
            r.reference(name)
                .ok_or_else(|| TemplateError::Unresolved(format!("Ref {name}")))
        }
        Some(Intrinsic::GetAtt(target)) => {
            let (id, attr) = match target {
                Yaml::String(s) => s
                    .split_once('.')
                    .map(|(a, b)| (a.to_owned(), b.to_owned()))
                    .ok_or_else(|| TemplateError::Invalid(format!("GetAtt {s}")))?,
                Yaml::Sequence(parts) if parts.len() == 2 => (
                    scalar_string(&parts[0]).unwrap_or_default(),
                    scalar_string(&parts[1]).unwrap_or_default(),
                ),
                _ => return Err(TemplateError::Invalid("GetAtt form".into())),
            };
            r.attribute(&id, &attr)
                .ok_or_else(|| TemplateError::Unresolved(format!("GetAtt {id}.{attr}")))
        }
        Some(Intrinsic::Sub(body)) => {
            let (text, vars) = match body {
                Yaml::String(s) => (s.as_str(), None),
                Yaml::Sequence(parts) if parts.len() == 2 => (
                    parts[0]
                        .as_str()
                        .ok_or_else(|| TemplateError::Invalid("Sub text".into()))?,
                    parts[1].as_mapping(),
                ),
                _ => return Err(TemplateError::Invalid("Sub form".into())),
            };
            substitute(text, |name| {
                if let Some(v) = vars.and_then(|m| m.get(name)) {
                    return resolve_string(v, r);
                }
                match name.split_once('.') {
                    Some((id, attr)) => r
                        .attribute(id, attr)
                        .ok_or_else(|| TemplateError::Unresolved(format!("${{{name}}}"))),
                    None => r
                        .reference(name)
                        .ok_or_else(|| TemplateError::Unresolved(format!("${{{name}}}"))),
                }
            })
        }
        Some(Intrinsic::Other(name)) => Err(TemplateError::Unresolved(format!(
            "intrinsic {name} (the local stack resolves Ref, GetAtt and Sub)"
        ))),
        None => Err(TemplateError::Invalid(format!(
            "expected a string, found {}",
            serde_yaml_ng::to_string(v).unwrap_or_default().trim()
        ))),
    }
}

/// `Fn::Sub` substitution: `${Name}`, `${Res.Attr}`, and `${!Literal}` escapes.
fn substitute(
    text: &str,
    mut lookup: impl FnMut(&str) -> Result<String, TemplateError>,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| TemplateError::Invalid(format!("unclosed ${{ in Sub {text:?}")))?;
        let name = &after[..end];
        if let Some(literal) = name.strip_prefix('!') {
            out.push_str("${");
            out.push_str(literal);
            out.push('}');
        } else {
            out.push_str(&lookup(name)?);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;
    impl Resolver for Fixed {
        fn reference(&self, name: &str) -> Option<String> {
            match name {
                "AWS::StackName" => Some("stk".into()),
                "Queue" => Some("http://q".into()),
                _ => None,
            }
        }
        fn attribute(&self, id: &str, attr: &str) -> Option<String> {
            (id == "Queue" && attr == "Arn").then(|| "arn:q".into())
        }
    }

    fn yaml(s: &str) -> Yaml {
        serde_yaml_ng::from_str(s).unwrap()
    }

    #[test]
    fn short_and_long_intrinsics_resolve() {
        assert_eq!(
            resolve_string(&yaml("!Ref Queue"), &Fixed).unwrap(),
            "http://q"
        );
        assert_eq!(
            resolve_string(&yaml("{Ref: Queue}"), &Fixed).unwrap(),
            "http://q"
        );
        assert_eq!(
            resolve_string(&yaml("!GetAtt Queue.Arn"), &Fixed).unwrap(),
            "arn:q"
        );
        assert_eq!(
            resolve_string(&yaml("{'Fn::GetAtt': [Queue, Arn]}"), &Fixed).unwrap(),
            "arn:q"
        );
        assert_eq!(
            resolve_string(
                &yaml(r#"!Sub "${AWS::StackName}-x ${Queue.Arn} ${!Keep}""#),
                &Fixed
            )
            .unwrap(),
            "stk-x arn:q ${Keep}"
        );
        assert_eq!(
            resolve_string(&yaml(r#"!Sub ["${A}/${AWS::StackName}", {A: a}]"#), &Fixed).unwrap(),
            "a/stk"
        );
        assert_eq!(resolve_string(&yaml("42"), &Fixed).unwrap(), "42");
    }

    #[test]
    fn what_cannot_be_resolved_is_an_error() {
        assert!(matches!(
            resolve_string(&yaml("!Ref Nope"), &Fixed),
            Err(TemplateError::Unresolved(_))
        ));
        assert!(matches!(
            resolve_string(&yaml("!If [a, b, c]"), &Fixed),
            Err(TemplateError::Unresolved(_))
        ));
        assert!(resolve_string(&yaml(r#"!Sub "${Unclosed""#), &Fixed).is_err());
    }
}
