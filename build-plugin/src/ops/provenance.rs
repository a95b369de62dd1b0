//! Build provenance: an in-toto Statement v1 whose predicate is SLSA provenance v1, made from
//! the facts a publish already has (artifact digest, git source, CI run). Pure; see
//! docs/provenance.md for the format and an example.

use std::time::SystemTime;

use serde_json::{json, Map, Value};

use crate::ops::ci::CiFacts;
use crate::stamp::Stamp;

pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
/// Our build type: a binary published by `fwrepo publish` (docs/provenance.md describes its
/// parameters).
pub const BUILD_TYPE: &str = "https://fwrepo.dev/provenance/publish/v1";
/// Builder ids: a CI provider's runner, or a developer machine.
const BUILDER_BASE: &str = "https://fwrepo.dev/provenance/builders/";

/// What a statement is made from.
pub struct BuildFacts<'a> {
    /// The artifact's file name (the subject's name).
    pub artifact: &'a str,
    pub sha256: &'a str,
    pub name: &'a str,
    pub fw_type: i64,
    pub version: &'a str,
    pub tags: &'a [String],
    pub stamp: &'a Stamp,
    pub started: SystemTime,
    pub finished: SystemTime,
}

/// The statement's JSON text (these exact bytes are signed and stored).
pub fn statement(facts: &BuildFacts) -> String {
    let statement = json!({
        "_type": STATEMENT_TYPE,
        "subject": [{"name": facts.artifact, "digest": {"sha256": facts.sha256}}],
        "predicateType": SLSA_PROVENANCE_V1,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": external_parameters(facts),
                "internalParameters": {
                    "fwrepoVersion": env!("CARGO_PKG_VERSION"),
                    "versionSource": facts.stamp.version_source,
                },
                "resolvedDependencies": resolved_dependencies(facts.stamp),
            },
            "runDetails": run_details(facts),
        },
    });
    serde_json::to_string_pretty(&without_nulls(statement)).expect("statement serializes")
}

fn external_parameters(facts: &BuildFacts) -> Value {
    let git = facts.stamp.git.as_ref();
    json!({
        "artifact": {
            "name": facts.name,
            "type": facts.fw_type,
            "version": facts.version,
            "tags": facts.tags,
        },
        "source": git.map(|g| json!({
            "repository": g.remote,
            "ref": g.branch.as_ref().map(|b| format!("refs/heads/{b}")),
            "dirty": g.dirty,
        })),
        "ci": facts.stamp.ci.as_ref().map(ci_parameters),
    })
}

fn ci_parameters(ci: &CiFacts) -> Value {
    json!({
        "provider": ci.provider,
        "buildNumber": ci.build_number,
        "buildUrl": ci.build_url,
        "pipelineId": ci.pipeline_id,
        "jobId": ci.job_id,
        "branch": ci.branch,
        "pullRequest": ci.pull_request,
    })
}

/// The source commit: `git+<remote>@<ref>` with its commit digest (SLSA's convention).
fn resolved_dependencies(stamp: &Stamp) -> Value {
    let Some(git) = &stamp.git else {
        return json!([]);
    };
    let uri = git.remote.as_ref().map(|remote| match &git.branch {
        Some(branch) => format!("git+{remote}@refs/heads/{branch}"),
        None => format!("git+{remote}"),
    });
    json!([{
        "name": "source",
        "uri": uri,
        "digest": {"gitCommit": git.sha},
    }])
}

fn run_details(facts: &BuildFacts) -> Value {
    let ci = facts.stamp.ci.as_ref();
    let builder = match ci {
        Some(ci) => format!("{BUILDER_BASE}{}", ci.provider),
        None => format!("{BUILDER_BASE}local"),
    };
    json!({
        "builder": {"id": builder, "version": {"fwrepo": env!("CARGO_PKG_VERSION")}},
        "metadata": {
            "invocationId": ci.and_then(invocation_id),
            "startedOn": humantime::format_rfc3339_seconds(facts.started).to_string(),
            "finishedOn": humantime::format_rfc3339_seconds(facts.finished).to_string(),
        },
    })
}

/// The CI run: its URL when the provider gives one, else its ids.
fn invocation_id(ci: &CiFacts) -> Option<String> {
    if let Some(url) = &ci.build_url {
        return Some(url.clone());
    }
    let ids: Vec<&str> = [&ci.pipeline_id, &ci.job_id, &ci.build_number]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    (!ids.is_empty()).then(|| format!("{}:{}", ci.provider, ids.join("/")))
}

/// Absent facts are left out rather than written as `null` (the protobuf definitions of
/// in-toto do not accept null for strings).
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::git::GitFacts;

    fn stamp(ci: Option<CiFacts>) -> Stamp {
        let git = GitFacts {
            sha: "a".repeat(40),
            short: "aaaaaaa".into(),
            branch: Some("main".into()),
            describe: None,
            last_tag: None,
            distance: None,
            exact_tags: vec![],
            dirty: false,
            shallow: false,
            remote: Some("https://git.example/fw.git".into()),
        };
        Stamp::new("1.2.3".parse().unwrap(), "test", Some(git), ci)
    }

    #[test]
    fn the_statement_names_the_subject_source_and_builder() {
        let ci = crate::ops::ci::detect(&crate::ops::env::Env::from_pairs([
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_RUN_ID", "77"),
            ("GITHUB_RUN_NUMBER", "5"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "acme/fw"),
        ]));
        let stamp = stamp(ci);
        let tags = vec!["branch:main".to_string()];
        let text = statement(&BuildFacts {
            artifact: "fw.bin",
            sha256: &"b".repeat(64),
            name: "fw",
            fw_type: 101,
            version: "1.2.3",
            tags: &tags,
            stamp: &stamp,
            started: SystemTime::UNIX_EPOCH,
            finished: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(60),
        });
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["subject"][0]["digest"]["sha256"], "b".repeat(64));
        assert_eq!(value["predicateType"], SLSA_PROVENANCE_V1);
        let dependency = &value["predicate"]["buildDefinition"]["resolvedDependencies"][0];
        assert_eq!(
            dependency["uri"],
            "git+https://git.example/fw.git@refs/heads/main"
        );
        assert_eq!(dependency["digest"]["gitCommit"], "a".repeat(40));
        let run = &value["predicate"]["runDetails"];
        assert_eq!(run["builder"]["id"], format!("{BUILDER_BASE}github"));
        assert_eq!(run["metadata"]["finishedOn"], "1970-01-01T00:01:00Z");
        assert!(run["metadata"]["invocationId"]
            .as_str()
            .unwrap()
            .contains("77"));
        assert!(!text.contains("null"), "{text}");
    }
}
