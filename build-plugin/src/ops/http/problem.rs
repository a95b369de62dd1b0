//! Problem+json answers (or bare statuses) as the CLI's typed errors.

use fwrepo_schemas::Problem;
use reqwest::{Response, StatusCode};

use crate::error::Error;

/// Reads a problem+json body (or makes one from a bare status) into an [`Error`].
pub async fn error_from(response: Response, what: &str) -> Error {
    let status = response.status();
    let problem = read_problem(response).await;
    problem_error(status, problem, what)
}

pub(super) async fn read_problem(response: Response) -> Problem {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    serde_json::from_str::<Problem>(&text).unwrap_or_else(|_| Problem {
        kind: "about:blank".into(),
        title: status.canonical_reason().unwrap_or("error").into(),
        status: status.as_u16(),
        detail: text.chars().take(300).collect(),
        instance: None,
        error: None,
        error_description: None,
        used_by: None,
        used_by_total: None,
    })
}

pub(super) fn problem_error(status: StatusCode, problem: Problem, what: &str) -> Error {
    let kind = problem.kind.rsplit('/').next().unwrap_or("").to_string();
    let detail = if problem.detail.is_empty() {
        problem.title.clone()
    } else {
        problem.detail.clone()
    };
    let detail = format!("{what}: {detail}");
    match status.as_u16() {
        401 | 403 => Error::Auth {
            status: status.as_u16(),
            detail,
        },
        404 => Error::NotFound(detail),
        400 if kind == "digest-mismatch" => Error::Verify {
            what: what.to_string(),
            expected: "the declared digest".into(),
            actual: problem.detail,
        },
        s if s >= 500 => Error::Network(format!("server error {s}: {detail}")),
        408 | 429 => Error::Network(format!(
            "server still busy ({}) after all retries: {detail}",
            status.as_u16()
        )),
        s => Error::Rejected {
            status: s,
            kind,
            detail,
        },
    }
}

pub(super) fn describe_reqwest(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::http::retry::transient_status;

    #[test]
    fn status_mapping() {
        let p = |kind: &str, status: u16| Problem {
            kind: format!("https://fwrepo.dev/problems/{kind}"),
            title: "t".into(),
            status,
            detail: "d".into(),
            instance: None,
            error: None,
            error_description: None,
            used_by: None,
            used_by_total: None,
        };
        assert!(matches!(
            problem_error(StatusCode::UNAUTHORIZED, p("unauthorized", 401), "x"),
            Error::Auth { .. }
        ));
        assert!(matches!(
            problem_error(StatusCode::FORBIDDEN, p("forbidden", 403), "x"),
            Error::Auth { .. }
        ));
        assert!(matches!(
            problem_error(StatusCode::NOT_FOUND, p("not-found", 404), "x"),
            Error::NotFound(_)
        ));
        assert!(matches!(
            problem_error(StatusCode::BAD_REQUEST, p("digest-mismatch", 400), "x"),
            Error::Verify { .. }
        ));
        assert!(matches!(
            problem_error(StatusCode::BAD_REQUEST, p("validation-failed", 400), "x"),
            Error::Rejected { status: 400, .. }
        ));
        assert!(matches!(
            problem_error(StatusCode::INTERNAL_SERVER_ERROR, p("internal", 500), "x"),
            Error::Network(_)
        ));
        assert!(
            transient_status(StatusCode::SERVICE_UNAVAILABLE)
                && !transient_status(StatusCode::BAD_REQUEST)
        );
    }

    #[test]
    fn busy_after_retries_is_network() {
        let p = Problem {
            kind: "about:blank".into(),
            title: "t".into(),
            status: 429,
            detail: "d".into(),
            instance: None,
            error: None,
            error_description: None,
            used_by: None,
            used_by_total: None,
        };
        assert!(matches!(
            problem_error(StatusCode::TOO_MANY_REQUESTS, p, "x"),
            Error::Network(_)
        ));
    }
}
