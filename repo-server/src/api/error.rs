//! The one error type of the HTTP edge and its one mapping to RFC 9457 problem details.
//! Every error kind has a stable `type` URI; 5xx details are logged, never returned.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use fwrepo_schemas::{Problem, PROBLEM_CONTENT_TYPE};

use crate::auth::AuthError;
use crate::domain::usage::InUse;
use crate::domain::{ConflictKind, DomainError};
use crate::service::ServiceError;

/// Base of every problem `type` URI; the kind is appended.
pub const PROBLEM_BASE: &str = "https://fwrepo.dev/problems/";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidBody(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    InvalidPaging(String),
    #[error("{0}")]
    InvalidQuery(String),
    #[error("{0}")]
    NotFound(String),
    #[error("this method is not allowed on this resource")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    #[error("{1}")]
    StateConflict(ConflictKind, String),
    /// A delete refused: the problem names what uses the record (`usedBy`).
    #[error("{}", .0.summary("the record"))]
    InUse(Box<InUse>),
    #[error("{0}")]
    DigestMismatch(String),
    #[error(transparent)]
    Trust(#[from] crate::domain::trust::TrustError),
    #[error("{0}")]
    SignatureMismatch(String),
    #[error("the body exceeds the limit of {0} bytes")]
    TooLarge(u64),
    #[error("the requested range is not satisfiable for {0} bytes")]
    RangeNotSatisfiable(u64),
    #[error("a valid bearer token is required")]
    Unauthenticated,
    #[error("client authentication failed")]
    InvalidClient,
    #[error("only grant_type=client_credentials is supported")]
    UnsupportedGrantType,
    #[error("{0}")]
    InvalidTokenRequest(String),
    #[error("{0}")]
    Forbidden(String),
    /// DDI routes: no `TargetToken`/`GatewayToken` valid for this tenant and controller.
    #[error("a valid TargetToken or GatewayToken for this controller is required")]
    DdiUnauthenticated,
    #[error("{0}")]
    Gone(String),
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("too many failed sign-in attempts; try again in {} s", retry_after_secs(*.0))]
    TooManyAttempts(std::time::Duration),
    #[error("{0}")]
    Unavailable(String),
    /// A backend (the blob store) cannot serve now; the client is told when to retry.
    #[error("storage is unavailable; retry in {} s", retry_after_secs(*.0))]
    StorageUnavailable(std::time::Duration),
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// Status, problem kind, and (for OAuth errors) the RFC 6749 error code.
    fn classify(&self) -> (StatusCode, &'static str, Option<&'static str>) {
        use ApiError::*;
        match self {
            InvalidBody(_) => (StatusCode::BAD_REQUEST, "invalid-body", None),
            UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                None,
            ),
            Validation(_) => (StatusCode::BAD_REQUEST, "validation-failed", None),
            InvalidPaging(_) => (StatusCode::BAD_REQUEST, "invalid-paging", None),
            InvalidQuery(_) => (StatusCode::BAD_REQUEST, "invalid-query", None),
            NotFound(_) => (StatusCode::NOT_FOUND, "not-found", None),
            MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", None),
            Conflict(_) => (StatusCode::CONFLICT, "already-exists", None),
            StateConflict(kind, _) => (StatusCode::CONFLICT, conflict_type(*kind), None),
            InUse(_) => (
                StatusCode::CONFLICT,
                conflict_type(ConflictKind::InUse),
                None,
            ),
            DigestMismatch(_) => (StatusCode::BAD_REQUEST, "digest-mismatch", None),
            Trust(error) => (StatusCode::BAD_REQUEST, trust_type(error), None),
            SignatureMismatch(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "signature-not-verified",
                None,
            ),
            TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large", None),
            RangeNotSatisfiable(_) => (
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range-not-satisfiable",
                None,
            ),
            Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthorized", None),
            InvalidClient => (
                StatusCode::UNAUTHORIZED,
                "invalid-client",
                Some("invalid_client"),
            ),
            UnsupportedGrantType => (
                StatusCode::BAD_REQUEST,
                "unsupported-grant-type",
                Some("unsupported_grant_type"),
            ),
            InvalidTokenRequest(_) => (
                StatusCode::BAD_REQUEST,
                "invalid-token-request",
                Some("invalid_request"),
            ),
            Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", None),
            DdiUnauthenticated => (StatusCode::UNAUTHORIZED, "unauthorized", None),
            Gone(_) => (StatusCode::GONE, "gone", None),
            InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid-credentials", None),
            TooManyAttempts(_) => (StatusCode::TOO_MANY_REQUESTS, "too-many-attempts", None),
            Unavailable(_) | StorageUnavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable", None)
            }
            Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", None),
        }
    }
}

/// The problem type of each kind of conflict: stable, one per kind.
fn conflict_type(kind: ConflictKind) -> &'static str {
    match kind {
        ConflictKind::NotInRepository => "not-in-repository",
        ConflictKind::PoolRecordMismatch => "pool-record-mismatch",
        ConflictKind::CollectionNotEmpty => "collection-not-empty",
        ConflictKind::InUse => "in-use",
        ConflictKind::UnsignedProtectedRecord => "unsigned-protected-record",
    }
}

/// The problem type of each malformed trust input: stable, one per kind.
fn trust_type(error: &crate::domain::trust::TrustError) -> &'static str {
    use crate::domain::trust::TrustError;
    match error {
        TrustError::Signature(_) => "invalid-signature",
        TrustError::PublicKey(_) => "invalid-public-key",
        TrustError::Provenance(_) => "invalid-provenance",
    }
}

/// Adds the `usedBy` list and its total to an `in-use` problem.
fn with_uses(problem: Problem, uses: &InUse) -> Problem {
    let used_by = uses
        .uses
        .iter()
        .map(|found| fwrepo_schemas::RecordUse {
            kind: found.kind.as_str().to_string(),
            id: found.id.clone(),
            scope: found.scope.clone(),
        })
        .collect();
    Problem {
        used_by: Some(used_by),
        used_by_total: Some(uses.total),
        ..problem
    }
}

/// An error and its sources on one line (`a: b: c`), for the log.
fn cause_chain(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        // Many errors print their source in their own message already.
        if !line.ends_with(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind, oauth_error) = self.classify();
        if let ApiError::Internal(detail) = &self {
            tracing::error!(error.detail = %detail, "internal error");
        }
        let detail = self.to_string();
        let problem = Problem {
            kind: format!("{PROBLEM_BASE}{kind}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.clone(),
            instance: None,
            error: oauth_error.map(str::to_string),
            error_description: oauth_error.map(|_| detail),
            used_by: None,
            used_by_total: None,
        };
        let problem = match &self {
            ApiError::InUse(uses) => with_uses(problem, uses),
            _ => problem,
        };
        let body = serde_json::to_vec(&problem).expect("problem serializes");
        let mut response =
            (status, [(header::CONTENT_TYPE, PROBLEM_CONTENT_TYPE)], body).into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::Unauthenticated => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"fwrepo\""),
                );
            }
            ApiError::DdiUnauthenticated => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("TargetToken realm=\"fwrepo\""),
                );
            }
            ApiError::InvalidClient => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"fwrepo\""),
                );
            }
            ApiError::RangeNotSatisfiable(length) => {
                if let Ok(value) = HeaderValue::from_str(&format!("bytes */{length}")) {
                    headers.insert(header::CONTENT_RANGE, value);
                }
            }
            ApiError::Unavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            ApiError::TooManyAttempts(wait) | ApiError::StorageUnavailable(wait) => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after_secs(*wait)),
                );
            }
            _ => {}
        }
        if matches!(oauth_error, Some(_)) {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        response
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::InvalidPaging(_) => ApiError::InvalidPaging(error.to_string()),
            DomainError::InvalidQuery(_) => ApiError::InvalidQuery(error.to_string()),
            other => ApiError::Validation(other.to_string()),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Invalid(domain) => domain.into(),
            ServiceError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            ServiceError::Conflict(detail) => ApiError::Conflict(detail),
            ServiceError::StateConflict(kind, detail) => ApiError::StateConflict(kind, detail),
            ServiceError::InUse(uses) => ApiError::InUse(uses),
            ServiceError::DigestMismatch(detail) => ApiError::DigestMismatch(detail),
            ServiceError::Trust(error) => ApiError::Trust(error),
            ServiceError::SignatureMismatch(detail) => ApiError::SignatureMismatch(detail),
            ServiceError::TooLarge { limit } => ApiError::TooLarge(limit),
            ServiceError::Unavailable(detail) => ApiError::Unavailable(detail),
            ServiceError::StoreUnavailable {
                retry_after,
                source,
            } => {
                tracing::warn!(error = %cause_chain(&source), "blob store unavailable");
                ApiError::StorageUnavailable(retry_after)
            }
            ServiceError::Internal(cause) => ApiError::Internal(cause_chain(cause.as_ref())),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Unauthenticated => ApiError::Unauthenticated,
            AuthError::InvalidClient => ApiError::InvalidClient,
            AuthError::InvalidCredentials => ApiError::InvalidCredentials,
            AuthError::TooManyAttempts { retry_after } => ApiError::TooManyAttempts(retry_after),
            AuthError::MissingScope(_) => ApiError::Forbidden(error.to_string()),
            // Another partner's resources look exactly like missing ones.
            AuthError::OtherPartner => ApiError::NotFound("not found".into()),
            AuthError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            AuthError::Invalid(detail) => ApiError::Validation(detail),
            AuthError::Conflict(detail) => ApiError::Conflict(detail),
            AuthError::Meta(meta) => ApiError::Internal(meta.to_string()),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Whole seconds to wait, rounded up (a client told 0 would retry at once).
fn retry_after_secs(wait: std::time::Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttled_sign_ins_are_429_with_retry_after() {
        let error: ApiError = AuthError::TooManyAttempts {
            retry_after: std::time::Duration::from_millis(61_500),
        }
        .into();
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "62");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            PROBLEM_CONTENT_TYPE
        );
    }

    /// Issue 10 item 1: a backend that cannot serve now is a 503 problem with Retry-After
    /// (the backend's own wait, rounded up), not a 500.
    #[test]
    fn an_unavailable_blob_store_is_503_with_retry_after() {
        let store = crate::store::StoreError::Unavailable {
            retry_after: std::time::Duration::from_millis(2_500),
            source: "connection refused".into(),
        };
        let api: ApiError = ServiceError::from(store).into();
        let (status, kind, _) = api.classify();
        assert_eq!(
            (status, kind),
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
        );
        let response = api.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            PROBLEM_CONTENT_TYPE
        );
    }

    #[derive(Debug, thiserror::Error)]
    #[error("reading the blob failed")]
    struct Outer(#[source] std::io::Error);

    /// Issue 11 item 11: a 5xx keeps its cause chain for the log, not only the outer message.
    #[test]
    fn internal_errors_keep_their_cause_chain() {
        let cause = Outer(std::io::Error::other("disk on fire"));
        let api: ApiError = ServiceError::Internal(Box::new(cause)).into();
        match &api {
            ApiError::Internal(detail) => {
                assert_eq!(detail, "reading the blob failed: disk on fire")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            api.to_string(),
            "internal error",
            "the client sees no detail"
        );
    }

    /// Issue 11 item 11: each kind of conflict has its own problem type.
    #[test]
    fn each_conflict_kind_has_its_own_problem_type() {
        let kinds = [
            ConflictKind::NotInRepository,
            ConflictKind::PoolRecordMismatch,
            ConflictKind::CollectionNotEmpty,
            ConflictKind::InUse,
            ConflictKind::UnsignedProtectedRecord,
        ];
        let mut types: Vec<&str> = kinds
            .iter()
            .map(|kind| ApiError::StateConflict(*kind, String::new()).classify().1)
            .collect();
        types.push(ApiError::Conflict(String::new()).classify().1);
        let distinct: std::collections::BTreeSet<&str> = types.iter().copied().collect();
        assert_eq!(distinct.len(), types.len(), "{types:?}");
    }
}
