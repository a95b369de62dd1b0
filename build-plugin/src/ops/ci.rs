//! CI facts from the documented environment variables of GitHub Actions, GitLab CI, Jenkins,
//! Buildkite, Azure Pipelines and CircleCI. Pure: reads an [`Env`] snapshot and, for GitHub
//! pull requests, the event payload file it names.

use serde::Serialize;

use super::env::Env;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CiFacts {
    /// Stable provider id: github, gitlab, jenkins, buildkite, azure, circleci.
    pub provider: String,
    pub build_number: Option<String>,
    pub build_url: Option<String>,
    pub pipeline_id: Option<String>,
    pub job_id: Option<String>,
    /// The commit the CI says it builds; for a GitHub pull request, the PR head (not the
    /// synthetic merge commit in `GITHUB_SHA`).
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub pull_request: Option<String>,
}

impl CiFacts {
    fn new(provider: &str) -> Self {
        CiFacts {
            provider: provider.to_string(),
            build_number: None,
            build_url: None,
            pipeline_id: None,
            job_id: None,
            commit: None,
            branch: None,
            pull_request: None,
        }
    }
}

/// Detects the CI provider; `None` on a developer machine.
pub fn detect(env: &Env) -> Option<CiFacts> {
    if env.is_true("GITHUB_ACTIONS") {
        Some(github(env))
    } else if env.is_true("GITLAB_CI") {
        Some(gitlab(env))
    } else if env.is_true("BUILDKITE") {
        Some(buildkite(env))
    } else if env.is_true("CIRCLECI") {
        Some(circleci(env))
    } else if env.is_true("TF_BUILD") {
        Some(azure(env))
    } else if env.get("JENKINS_URL").is_some() || env.get("JENKINS_HOME").is_some() {
        Some(jenkins(env))
    } else {
        None
    }
}

fn github(env: &Env) -> CiFacts {
    let mut ci = CiFacts::new("github");
    ci.build_number = env.get("GITHUB_RUN_NUMBER");
    ci.pipeline_id = env.get("GITHUB_RUN_ID");
    ci.job_id = env.get("GITHUB_JOB");
    if let (Some(server), Some(repo), Some(run)) = (
        env.get("GITHUB_SERVER_URL"),
        env.get("GITHUB_REPOSITORY"),
        env.get("GITHUB_RUN_ID"),
    ) {
        ci.build_url = Some(format!(
            "{}/{repo}/actions/runs/{run}",
            server.trim_end_matches('/')
        ));
    }
    ci.commit = env.get("GITHUB_SHA");
    ci.branch = env.get("GITHUB_HEAD_REF").or_else(|| {
        // GITHUB_REF_NAME is the tag name on a tag push; only refs/heads/ is a branch.
        env.get("GITHUB_REF")
            .and_then(|r| r.strip_prefix("refs/heads/").map(str::to_string))
    });
    let event = env.get("GITHUB_EVENT_NAME").unwrap_or_default();
    if event.starts_with("pull_request") {
        // GITHUB_SHA is the merge commit GitHub synthesised; the event payload names the head.
        if let Some(payload) = env
            .get("GITHUB_EVENT_PATH")
            .and_then(|p| std::fs::read_to_string(p).ok())
        {
            if let Ok(json) = serde_json::from_str::<serde_json::Value>(&payload) {
                let pr = &json["pull_request"];
                if let Some(sha) = pr["head"]["sha"].as_str() {
                    ci.commit = Some(sha.to_string());
                }
                if let Some(number) = pr["number"].as_u64().or_else(|| json["number"].as_u64()) {
                    ci.pull_request = Some(number.to_string());
                }
                if ci.branch.is_none() {
                    ci.branch = pr["head"]["ref"].as_str().map(str::to_string);
                }
            }
        }
        if ci.pull_request.is_none() {
            // refs/pull/<n>/merge
            ci.pull_request = env.get("GITHUB_REF").and_then(|r| {
                r.strip_prefix("refs/pull/")
                    .and_then(|r| r.split('/').next().map(str::to_string))
            });
        }
    }
    ci
}

fn gitlab(env: &Env) -> CiFacts {
    let mut ci = CiFacts::new("gitlab");
    ci.build_number = env.get("CI_PIPELINE_IID").or_else(|| env.get("CI_JOB_ID"));
    ci.pipeline_id = env.get("CI_PIPELINE_ID");
    ci.job_id = env.get("CI_JOB_ID");
    ci.build_url = env.get("CI_JOB_URL").or_else(|| env.get("CI_PIPELINE_URL"));
    // Merged-results pipelines build a merge commit; the MR's own head is the source branch sha.
    ci.commit = env
        .get("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA")
        .or_else(|| env.get("CI_COMMIT_SHA"));
    ci.branch = env
        .get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME")
        .or_else(|| env.get("CI_COMMIT_BRANCH"))
        .or_else(|| {
            if env.get("CI_COMMIT_TAG").is_none() {
                env.get("CI_COMMIT_REF_NAME")
            } else {
                None
            }
        });
    ci.pull_request = env.get("CI_MERGE_REQUEST_IID");
    ci
}

fn jenkins(env: &Env) -> CiFacts {
    let mut ci = CiFacts::new("jenkins");
    ci.build_number = env.get("BUILD_NUMBER");
    ci.build_url = env.get("BUILD_URL");
    ci.pipeline_id = env.get("JOB_NAME");
    ci.job_id = env.get("BUILD_ID");
    ci.commit = env.get("GIT_COMMIT");
    ci.branch = env
        .get("CHANGE_BRANCH")
        .or_else(|| env.get("BRANCH_NAME"))
        .or_else(|| {
            env.get("GIT_BRANCH")
                .map(|b| b.strip_prefix("origin/").unwrap_or(&b).to_string())
        });
    ci.pull_request = env.get("CHANGE_ID");
    ci
}

fn buildkite(env: &Env) -> CiFacts {
    let mut ci = CiFacts::new("buildkite");
    ci.build_number = env.get("BUILDKITE_BUILD_NUMBER");
    ci.build_url = env.get("BUILDKITE_BUILD_URL");
    ci.pipeline_id = env.get("BUILDKITE_PIPELINE_SLUG");
    ci.job_id = env.get("BUILDKITE_JOB_ID");
    ci.commit = env.get("BUILDKITE_COMMIT").filter(|c| c != "HEAD");
    ci.branch = env.get("BUILDKITE_BRANCH");
    ci.pull_request = env.get("BUILDKITE_PULL_REQUEST").filter(|p| p != "false");
    ci
}

fn azure(env: &Env) -> CiFacts {
    let mut ci = CiFacts::new("azure");
    ci.build_number = env.get("BUILD_BUILDNUMBER");
    ci.pipeline_id = env.get("SYSTEM_DEFINITIONID");
    ci.job_id = env.get("BUILD_BUILDID");
    if let (Some(collection), Some(project), Some(id)) = (
        env.get("SYSTEM_COLLECTIONURI"),
        env.get("SYSTEM_TEAMPROJECT"),
        env.get("BUILD_BUILDID"),
    ) {
        ci.build_url = Some(format!(
            "{}/{project}/_build/results?buildId={id}",
            collection.trim_end_matches('/')
        ));
    }
    ci.commit = env
        .get("SYSTEM_PULLREQUEST_SOURCECOMMITID")
        .or_else(|| env.get("BUILD_SOURCEVERSION"));
    ci.branch = env
        .get("SYSTEM_PULLREQUEST_SOURCEBRANCH")
        .or_else(|| env.get("BUILD_SOURCEBRANCH"))
        .and_then(|b| {
            b.strip_prefix("refs/heads/")
                .map(str::to_string)
                .or(if b.starts_with("refs/") {
                    None
                } else {
                    Some(b)
                })
        });
    ci.pull_request = env
        .get("SYSTEM_PULLREQUEST_PULLREQUESTNUMBER")
        .or_else(|| env.get("SYSTEM_PULLREQUEST_PULLREQUESTID"));
    ci
}

fn circleci(env: &Env) -> CiFacts {
    let mut ci = CiFacts::new("circleci");
    ci.build_number = env.get("CIRCLE_BUILD_NUM");
    ci.build_url = env.get("CIRCLE_BUILD_URL");
    ci.pipeline_id = env.get("CIRCLE_WORKFLOW_ID");
    ci.job_id = env.get("CIRCLE_JOB");
    ci.commit = env.get("CIRCLE_SHA1");
    ci.branch = env.get("CIRCLE_BRANCH");
    ci.pull_request = env.get("CIRCLE_PR_NUMBER").or_else(|| {
        env.get("CIRCLE_PULL_REQUEST")
            .and_then(|u| u.rsplit('/').next().map(str::to_string))
    });
    ci
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_ci_on_a_laptop() {
        assert_eq!(detect(&Env::from_pairs([("HOME", "/home/me")])), None);
    }

    #[test]
    fn github_push() {
        let env = Env::from_pairs([
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_RUN_NUMBER", "42"),
            ("GITHUB_RUN_ID", "9001"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "acme/fw"),
            ("GITHUB_SHA", "abc"),
            ("GITHUB_REF", "refs/heads/main"),
            ("GITHUB_REF_NAME", "main"),
            ("GITHUB_EVENT_NAME", "push"),
        ]);
        let ci = detect(&env).unwrap();
        assert_eq!(ci.provider, "github");
        assert_eq!(ci.build_number.as_deref(), Some("42"));
        assert_eq!(
            ci.build_url.as_deref(),
            Some("https://github.com/acme/fw/actions/runs/9001")
        );
        assert_eq!(ci.branch.as_deref(), Some("main"));
        assert_eq!(ci.commit.as_deref(), Some("abc"));
        assert_eq!(ci.pull_request, None);
    }

    #[test]
    fn github_pull_request_stamps_the_head_commit() {
        let dir = tempfile::tempdir().unwrap();
        let event = dir.path().join("event.json");
        std::fs::write(
            &event,
            r#"{"number":7,"pull_request":{"number":7,"head":{"sha":"feedface","ref":"topic"}}}"#,
        )
        .unwrap();
        let event = event.to_str().unwrap().to_string();
        let env = Env::from_pairs([
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_SHA", "mergecommit"),
            ("GITHUB_REF", "refs/pull/7/merge"),
            ("GITHUB_HEAD_REF", "topic"),
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_EVENT_PATH", event.as_str()),
        ]);
        let ci = detect(&env).unwrap();
        assert_eq!(ci.commit.as_deref(), Some("feedface"));
        assert_eq!(ci.pull_request.as_deref(), Some("7"));
        assert_eq!(ci.branch.as_deref(), Some("topic"));
    }

    #[test]
    fn gitlab_merge_request() {
        let env = Env::from_pairs([
            ("GITLAB_CI", "true"),
            ("CI_PIPELINE_ID", "555"),
            ("CI_PIPELINE_IID", "12"),
            ("CI_JOB_ID", "777"),
            ("CI_JOB_URL", "https://gitlab.example/acme/fw/-/jobs/777"),
            ("CI_COMMIT_SHA", "0123"),
            ("CI_COMMIT_REF_NAME", "feature"),
            ("CI_MERGE_REQUEST_IID", "3"),
        ]);
        let ci = detect(&env).unwrap();
        assert_eq!(ci.provider, "gitlab");
        assert_eq!(ci.build_number.as_deref(), Some("12"));
        assert_eq!(ci.pipeline_id.as_deref(), Some("555"));
        assert_eq!(ci.branch.as_deref(), Some("feature"));
        assert_eq!(ci.pull_request.as_deref(), Some("3"));
    }

    #[test]
    fn jenkins_strips_origin() {
        let env = Env::from_pairs([
            ("JENKINS_URL", "https://ci.example/"),
            ("BUILD_NUMBER", "99"),
            ("BUILD_URL", "https://ci.example/job/fw/99/"),
            ("GIT_BRANCH", "origin/release"),
            ("GIT_COMMIT", "beef"),
        ]);
        let ci = detect(&env).unwrap();
        assert_eq!(ci.provider, "jenkins");
        assert_eq!(ci.branch.as_deref(), Some("release"));
        assert_eq!(ci.build_number.as_deref(), Some("99"));
    }

    #[test]
    fn buildkite_azure_circleci() {
        let bk = detect(&Env::from_pairs([
            ("BUILDKITE", "true"),
            ("BUILDKITE_BUILD_NUMBER", "5"),
            ("BUILDKITE_PULL_REQUEST", "false"),
            ("BUILDKITE_BRANCH", "main"),
        ]))
        .unwrap();
        assert_eq!((bk.provider.as_str(), bk.pull_request), ("buildkite", None));
        let az = detect(&Env::from_pairs([
            ("TF_BUILD", "True"),
            ("BUILD_BUILDNUMBER", "20240101.1"),
            ("BUILD_BUILDID", "314"),
            ("SYSTEM_COLLECTIONURI", "https://dev.azure.com/acme/"),
            ("SYSTEM_TEAMPROJECT", "fw"),
            ("BUILD_SOURCEBRANCH", "refs/heads/main"),
        ]))
        .unwrap();
        assert_eq!(az.provider, "azure");
        assert_eq!(az.branch.as_deref(), Some("main"));
        assert_eq!(
            az.build_url.as_deref(),
            Some("https://dev.azure.com/acme/fw/_build/results?buildId=314")
        );
        let cc = detect(&Env::from_pairs([
            ("CIRCLECI", "true"),
            ("CIRCLE_BUILD_NUM", "8"),
            ("CIRCLE_PULL_REQUEST", "https://github.com/acme/fw/pull/12"),
        ]))
        .unwrap();
        assert_eq!(
            (cc.provider.as_str(), cc.pull_request.as_deref()),
            ("circleci", Some("12"))
        );
    }
}
