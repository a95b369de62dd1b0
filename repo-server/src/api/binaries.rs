//! Binary uploads and moves: `/v1/ota/partners/{partnerId}/binaries...`. Bodies stream
//! chunk by chunk into the blob store; nothing is buffered whole.

use std::sync::Arc;

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, HeaderMap};
use axum::Json;
use base64::Engine;
use futures_util::StreamExt;
use fwrepo_schemas::{BinaryStatus, StringValue};

use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, Caller};
use crate::domain::{Scope, Sha256Digest};
use crate::service::binaries::Upload;
use crate::service::{Service, ServiceError};
use crate::store::Expected;

/// The digest the client states for the body: `X-Checksum-Sha256: <hex>` and/or
/// `Content-Digest: sha-256=:<base64>:` (RFC 9530). Two that disagree are a 400.
pub fn expected_digest(headers: &HeaderMap) -> ApiResult<Option<Sha256Digest>> {
    let from_hex = match headers.get("x-checksum-sha256") {
        Some(value) => {
            let text = value
                .to_str()
                .map_err(|_| ApiError::Validation("X-Checksum-Sha256 is not ASCII".into()))?;
            Some(Sha256Digest::parse_hex("X-Checksum-Sha256", text.trim())?)
        }
        None => None,
    };
    let from_content_digest = match headers.get("content-digest") {
        Some(value) => {
            let text = value
                .to_str()
                .map_err(|_| ApiError::Validation("Content-Digest is not ASCII".into()))?;
            parse_content_digest(text)?
        }
        None => None,
    };
    match (from_hex, from_content_digest) {
        (Some(a), Some(b)) if a != b => Err(ApiError::Validation(
            "X-Checksum-Sha256 and Content-Digest state different digests".into(),
        )),
        (a, b) => Ok(a.or(b)),
    }
}

/// The `sha-256` member of a Content-Digest dictionary; other algorithms are ignored.
fn parse_content_digest(text: &str) -> ApiResult<Option<Sha256Digest>> {
    for member in text.split(',') {
        let Some((algorithm, value)) = member.trim().split_once('=') else {
            continue;
        };
        if !algorithm.trim().eq_ignore_ascii_case("sha-256") {
            continue;
        }
        let invalid =
            || ApiError::Validation("Content-Digest sha-256 must be :<base64 of 32 bytes>:".into());
        let inner = value
            .trim()
            .strip_prefix(':')
            .and_then(|v| v.strip_suffix(':'))
            .ok_or_else(invalid)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(inner)
            .map_err(|_| invalid())?;
        return Ok(Some(Sha256Digest(bytes.try_into().map_err(|_| invalid())?)));
    }
    Ok(None)
}

enum UploadBody {
    Raw(Request),
    Form(Multipart),
}

/// How a `POST binaries` body is framed, from its Content-Type (415 for anything else).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Framing {
    Raw,
    Form,
}

fn framing(headers: &HeaderMap) -> ApiResult<Framing> {
    match super::extract::media_type(headers).as_str() {
        "application/octet-stream" => Ok(Framing::Raw),
        "multipart/form-data" => Ok(Framing::Form),
        other => Err(ApiError::UnsupportedMediaType(format!(
            "upload with Content-Type application/octet-stream or multipart/form-data, not '{other}'"
        ))),
    }
}

/// The client waits for `100 Continue` before sending the body. hyper sends it only when the
/// body is first read, so a handler that answers without reading it receives none of it.
fn expects_continue(headers: &HeaderMap) -> bool {
    headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

pub async fn upload(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath(partner): ApiPath<String>,
    request: Request,
) -> ApiResult<Json<StringValue>> {
    let partner = caller.partner(&partner, Scope::Write)?;
    let headers = request.headers().clone();
    let expected = expected_digest(&headers)?;
    let framing = framing(&headers)?;
    let stated = Expected {
        sha256: expected,
        // A raw body's length is the file's (a form's includes its framing).
        length: match framing {
            Framing::Raw => declared_length(&headers),
            Framing::Form => None,
        },
    };
    if expects_continue(&headers) {
        // Checksum-first: bytes the partner holds already are not sent again.
        if let Some(held) = service.reupload_known(partner, stated).await? {
            metrics::counter!("fwrepo_upload_bodies_skipped_total").increment(1);
            tracing::info!(blob.sha256 = %held.written.sha256, size_bytes = held.written.length, "binary known by its digest, body not read");
            return Ok(Json(StringValue {
                value: held.written.sha256.to_hex(),
            }));
        }
    }
    let limit = service.config().max_upload_bytes;
    let request = refuse_declared_oversize(request, limit).await?;
    let body = match framing {
        Framing::Raw => UploadBody::Raw(request),
        Framing::Form => {
            UploadBody::Form(Multipart::from_request(request, &()).await.map_err(|e| {
                ApiError::InvalidBody(format!("malformed multipart body: {}", e.body_text()))
            })?)
        }
    };
    let mut upload = service.begin_upload(stated).await?;
    let streamed = match body {
        UploadBody::Raw(request) => stream_raw(&mut upload, request).await,
        UploadBody::Form(multipart) => stream_multipart(&mut upload, multipart).await,
    };
    if let Err(error) = streamed {
        // Answer only once the partial bytes are gone: nothing of a rejected upload is kept.
        upload.abort().await;
        return Err(error);
    }
    let written = upload.finish(partner).await?.written;
    metrics::counter!("fwrepo_upload_bytes_total").increment(written.length);
    metrics::counter!("fwrepo_blobs_total", "outcome" => if written.created { "created" } else { "deduplicated" }).increment(1);
    tracing::info!(blob.sha256 = %written.sha256, size_bytes = written.length, created = written.created, "binary uploaded");
    Ok(Json(StringValue {
        value: written.sha256.to_hex(),
    }))
}

/// `GET|HEAD .../binaries/sha256/{sha256}`: whether the partner holds these bytes (its
/// upload or repository entry), so a client can skip sending them. Bytes only another
/// partner holds are a 404, like bytes nobody holds.
pub async fn lookup(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath((partner, sha256)): ApiPath<(String, String)>,
) -> ApiResult<Json<BinaryStatus>> {
    let partner = caller.partner(&partner, Scope::Read)?;
    let not_found = || ApiError::NotFound("binary not found".into());
    let sha256 = Sha256Digest::parse_hex("sha256", &sha256).map_err(|_| not_found())?;
    let known = service
        .known_binary(partner, sha256)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(BinaryStatus {
        sha256: sha256.to_hex(),
        length: known.length,
        in_repository: known.in_repository,
        url: known
            .in_repository
            .then(|| super::urls::repository_url(&service, partner, &sha256)),
    }))
}

/// A body whose Content-Length is over the upload limit is refused before anything is
/// stored. A small excess is read and dropped first, so the client sees the 413, not a reset.
pub(super) async fn refuse_declared_oversize(request: Request, limit: u64) -> ApiResult<Request> {
    let declared = declared_length(request.headers());
    // Multipart framing adds a little to the file's own size.
    match declared {
        Some(length) if length > limit.saturating_add(64 * 1024) => {
            if length <= limit.saturating_add(LINGER_BYTES) {
                linger(request.into_body().into_data_stream()).await;
            }
            Err(ApiError::TooLarge(limit))
        }
        _ => Ok(request),
    }
}

/// The body's length as the client declared it (`Content-Length`).
pub(super) fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

pub(super) async fn stream_raw(upload: &mut Upload<'_>, request: Request) -> ApiResult<()> {
    let mut body = request.into_body().into_data_stream();
    while let Some(chunk) = body.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::InvalidBody(format!("the body was cut off: {e}")))?;
        if let Err(error) = upload.write(chunk).await {
            if matches!(error, ServiceError::TooLarge { .. }) {
                linger(body).await;
            }
            return Err(error.into());
        }
    }
    Ok(())
}

/// Bytes of an oversize body read and dropped before answering 413, and for how long.
const LINGER_BYTES: u64 = 4 * 1024 * 1024;
const LINGER_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// Reads and drops what a client still sends (bounded in bytes and time), so a client that
/// is still writing a slightly oversize body reads the 413 instead of a connection reset.
async fn linger(mut body: axum::body::BodyDataStream) {
    let drain = async {
        let mut dropped = 0u64;
        while let Some(Ok(chunk)) = body.next().await {
            dropped += chunk.len() as u64;
            if dropped > LINGER_BYTES {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(LINGER_TIME, drain).await;
}

/// Writes one multipart field's bytes into the upload, as they arrive: every multipart upload
/// (Afero binaries, Span images, the web UI's plain form) streams through here.
pub(crate) async fn stream_field(
    upload: &mut Upload<'_>,
    field: &mut axum::extract::multipart::Field<'_>,
) -> ApiResult<()> {
    while let Some(chunk) = field.chunk().await.map_err(malformed_multipart)? {
        upload.write(chunk).await?;
    }
    Ok(())
}

pub(crate) fn malformed_multipart(e: axum::extract::multipart::MultipartError) -> ApiError {
    ApiError::InvalidBody(format!("malformed multipart body: {}", e.body_text()))
}

/// Streams the one file part of a form. No file, or a second file, is a 400.
async fn stream_multipart(upload: &mut Upload<'_>, mut multipart: Multipart) -> ApiResult<()> {
    let malformed = malformed_multipart;
    let mut files = 0;
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        if field.file_name().is_none() {
            // Plain form fields (e.g. a description) are allowed and ignored.
            while field.chunk().await.map_err(malformed)?.is_some() {}
            continue;
        }
        files += 1;
        if files > 1 {
            return Err(ApiError::InvalidBody(
                "the form holds more than one file; upload one binary per request".into(),
            ));
        }
        stream_field(upload, &mut field).await?;
    }
    if files == 0 {
        return Err(ApiError::InvalidBody(
            "the form holds no file part (a part with a filename)".into(),
        ));
    }
    Ok(())
}

pub async fn move_to_repository(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath(partner): ApiPath<String>,
    ApiJson(body): ApiJson<StringValue>,
) -> ApiResult<Json<StringValue>> {
    let partner = caller.partner(&partner, Scope::Write)?;
    let sha256 = Sha256Digest::parse_hex("value", body.value.trim())?;
    service.move_to_repository(partner, sha256).await?;
    Ok(Json(StringValue {
        value: super::urls::repository_url(&service, partner, &sha256),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_digest_parsing() {
        let digest = Sha256Digest([9; 32]);
        let b64 = base64::engine::general_purpose::STANDARD.encode(digest.0);
        assert_eq!(
            parse_content_digest(&format!("sha-512=:abc:, sha-256=:{b64}:")).unwrap(),
            Some(digest)
        );
        assert_eq!(parse_content_digest("sha-512=:abc:").unwrap(), None);
        assert!(parse_content_digest("sha-256=nocolons").is_err());
        assert!(parse_content_digest("sha-256=:AAAA:").is_err());
    }
}
