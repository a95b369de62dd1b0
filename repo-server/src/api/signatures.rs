//! Signatures and provenance of a repository binary, under
//! `/v1/ota/partners/{partnerId}/repository/sha256/{sha256}`: detached minisign signatures
//! (post, list, one served as `.minisig` text) and the signed build provenance.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use fwrepo_schemas::{Provenance, ProvenanceCreate, Signature};

use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, Caller};
use crate::domain::trust::MAX_SIGNATURE_BYTES;
use crate::domain::{Scope, Sha256Digest};
use crate::service::trust::{ProvenanceView, SignatureView};
use crate::service::Service;

/// The digest of a path; one that does not parse names no binary.
fn digest(hex: &str) -> ApiResult<Sha256Digest> {
    Sha256Digest::parse_hex("sha256", hex)
        .map_err(|_| ApiError::NotFound("binary not found".into()))
}

fn signature_wire(
    service: &Service,
    partner: &str,
    sha256: &Sha256Digest,
    view: SignatureView,
) -> Signature {
    let record = view.record;
    Signature {
        url: format!(
            "{}/signatures/{}",
            super::urls::repository_url(service, partner, sha256),
            record.key_id
        ),
        key_id: record.key_id,
        trusted_comment: record.trusted_comment,
        created_timestamp: record.created_ms,
        verified: view.trusted,
        verified_timestamp: record.verified_ms.filter(|_| view.trusted),
        signature: record.signature,
    }
}

fn provenance_wire(view: ProvenanceView) -> Provenance {
    let record = view.record;
    Provenance {
        statement: record.statement,
        signature: record.signature,
        key_id: record.key_id,
        build_type: record.build_type,
        builder_id: record.builder_id,
        created_timestamp: record.created_ms,
        verified: view.trusted,
        verified_timestamp: record.verified_ms.filter(|_| view.trusted),
    }
}

/// `POST .../signatures`: the body is the `.minisig` text (at most 4 KiB, any content type).
pub async fn add(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath((partner, sha256)): ApiPath<(String, String)>,
    body: Body,
) -> ApiResult<(StatusCode, Json<Signature>)> {
    let partner = caller.partner(&partner, Scope::Write)?;
    let sha256 = digest(&sha256)?;
    let bytes = axum::body::to_bytes(body, MAX_SIGNATURE_BYTES)
        .await
        .map_err(|_| ApiError::TooLarge(MAX_SIGNATURE_BYTES as u64))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        ApiError::Trust(crate::domain::trust::TrustError::Signature(
            "the body is not UTF-8 text".into(),
        ))
    })?;
    let (view, created) = service.add_signature(partner, sha256, text).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(signature_wire(&service, partner, &sha256, view)),
    ))
}

pub async fn list(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath((partner, sha256)): ApiPath<(String, String)>,
) -> ApiResult<Json<Vec<Signature>>> {
    let partner = caller.partner(&partner, Scope::Read)?;
    let sha256 = digest(&sha256)?;
    let views = service.signatures(partner, sha256).await?;
    Ok(Json(
        views
            .into_iter()
            .map(|view| signature_wire(&service, partner, &sha256, view))
            .collect(),
    ))
}

/// `GET .../signatures/{keyId}`: the `.minisig` text, as `minisign -V -x` reads it.
pub async fn get(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath((partner, sha256, key_id)): ApiPath<(String, String, String)>,
) -> ApiResult<Response> {
    let partner = caller.partner(&partner, Scope::Read)?;
    let sha256 = digest(&sha256)?;
    let text = service.signature_text(partner, sha256, &key_id).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

pub async fn add_provenance(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath((partner, sha256)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<ProvenanceCreate>,
) -> ApiResult<(StatusCode, Json<Provenance>)> {
    let partner = caller.partner(&partner, Scope::Write)?;
    let sha256 = digest(&sha256)?;
    let (view, created) = service
        .add_provenance(partner, sha256, body.statement, &body.signature)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(provenance_wire(view))))
}

pub async fn provenance(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath((partner, sha256)): ApiPath<(String, String)>,
) -> ApiResult<Json<Provenance>> {
    let partner = caller.partner(&partner, Scope::Read)?;
    let sha256 = digest(&sha256)?;
    Ok(Json(provenance_wire(
        service.provenance(partner, sha256).await?,
    )))
}
