//! CloudWatch metrics as Embedded Metric Format (EMF) log lines: one JSON object per line on
//! stdout, which CloudWatch Logs turns into metrics without an API call
//! (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).

use serde_json::{Map, Value, json};

/// One value of one metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample<'a> {
    pub name: &'a str,
    /// A CloudWatch unit: `Count`, `Seconds`, …
    pub unit: &'a str,
    pub value: f64,
}

/// The EMF line for `samples` under `namespace`, with `dimensions` (name, value) as one
/// dimension set (none: the metrics have no dimension), at `timestamp_ms`.
pub fn emf_line(
    namespace: &str,
    dimensions: &[(&str, &str)],
    samples: &[Sample<'_>],
    timestamp_ms: i64,
) -> String {
    let names: Vec<&str> = dimensions.iter().map(|(n, _)| *n).collect();
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [names],
                "Metrics": samples
                    .iter()
                    .map(|s| json!({"Name": s.name, "Unit": s.unit}))
                    .collect::<Vec<_>>(),
            }],
        }),
    );
    for (name, value) in dimensions {
        root.insert((*name).into(), Value::String((*value).into()));
    }
    for s in samples {
        root.insert(s.name.into(), json!(s.value));
    }
    Value::Object(root).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emf_line_names_its_metrics_dimensions_and_values() {
        let line = emf_line(
            "chatsync/stack",
            &[("TenantId", "acme")],
            &[
                Sample {
                    name: "OpenReviewItems",
                    unit: "Count",
                    value: 3.0,
                },
                Sample {
                    name: "OldestOpenReviewItemAgeSeconds",
                    unit: "Seconds",
                    value: 90.0,
                },
            ],
            1_700_000_000_000,
        );
        let v: Value = serde_json::from_str(&line).unwrap();
        assert!(!line.contains('\n'));
        let meta = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(meta["Namespace"], "chatsync/stack");
        assert_eq!(meta["Dimensions"], json!([["TenantId"]]));
        assert_eq!(meta["Metrics"][1]["Unit"], "Seconds");
        assert_eq!(v["TenantId"], "acme");
        assert_eq!(v["OpenReviewItems"], 3.0);
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000_i64);
        let plain = emf_line(
            "n",
            &[],
            &[Sample {
                name: "M",
                unit: "Count",
                value: 0.0,
            }],
            1,
        );
        let v: Value = serde_json::from_str(&plain).unwrap();
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([[]]));
    }
}
