//! `POST /oauth/token`: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::IntoResponse;
use axum::{Form, Json};
use base64::Engine;
use fwrepo_schemas::TokenResponse;
use serde::Deserialize;

use super::error::{ApiError, ApiResult};
use crate::auth::Authenticator;

#[derive(Deserialize)]
pub struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// Client id and secret from HTTP Basic, if present.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

pub async fn token(
    State(auth): State<Arc<Authenticator>>,
    headers: HeaderMap,
    form: Result<Form<TokenRequest>, axum::extract::rejection::FormRejection>,
) -> ApiResult<impl IntoResponse> {
    let Form(request) = form.map_err(|e| match e {
        axum::extract::rejection::FormRejection::InvalidFormContentType(_) => {
            ApiError::UnsupportedMediaType(
                "expected Content-Type application/x-www-form-urlencoded".into(),
            )
        }
        other => ApiError::InvalidTokenRequest(other.body_text()),
    })?;
    match request.grant_type.as_deref() {
        Some("client_credentials") => {}
        Some(_) => return Err(ApiError::UnsupportedGrantType),
        None => {
            return Err(ApiError::InvalidTokenRequest(
                "grant_type is required".into(),
            ))
        }
    }
    let (client_id, client_secret) = match (
        basic_credentials(&headers),
        request.client_id,
        request.client_secret,
    ) {
        (Some(basic), _, _) => basic,
        (None, Some(id), Some(secret)) => (id, secret),
        _ => return Err(ApiError::InvalidClient),
    };
    let issued =
        crate::service::spawn_blocking(move || auth.issue_token(&client_id, &client_secret))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))??;
    let body = TokenResponse {
        access_token: issued.access_token,
        token_type: "Bearer".into(),
        expires_in: issued.expires_in.as_secs(),
        scope: issued
            .scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" "),
    };
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(body),
    ))
}
