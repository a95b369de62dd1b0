//! Downloads: `GET|HEAD /v1/ota/partners/{partnerId}/repository/sha256/{sha256}`, the URL
//! moveToRepository answers. Streams from the blob store with Range, ETag and digests.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use tokio_util::io::ReaderStream;

use super::error::{ApiError, ApiResult};
use super::extract::{ApiPath, Caller};
use crate::domain::{Scope, Sha256Digest};
use crate::service::Service;
use crate::store::BlobBytes;

/// A `307` to where the store serves the blob. The client repeats its GET (and its Range)
/// there; the URL expires soon, so nothing may cache this answer.
fn redirect_to_store(url: &str) -> ApiResult<Response> {
    let location = HeaderValue::from_str(url)
        .map_err(|e| ApiError::Internal(format!("presigned URL: {e}")))?;
    metrics::counter!("fwrepo_download_redirects_total").increment(1);
    Ok((
        StatusCode::TEMPORARY_REDIRECT,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response())
}

/// Read size of the download stream.
const STREAM_CHUNK: usize = 256 * 1024;

/// The byte range to serve: `None` for the whole blob. Several ranges, and a header that
/// does not parse, are served whole (RFC 9110 lets a server ignore Range; a malformed one
/// must be ignored); a well-formed but unsatisfiable one is a 416.
fn requested_range(
    headers: &HeaderMap,
    length: u64,
    etag: &str,
) -> ApiResult<Option<std::ops::Range<u64>>> {
    let Some(value) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    if let Some(if_range) = headers.get(header::IF_RANGE).and_then(|v| v.to_str().ok()) {
        if if_range.trim() != etag {
            return Ok(None);
        }
    }
    let Ok(parsed) = http_range_header::parse_range_header(value) else {
        return Ok(None);
    };
    match parsed.ranges.as_slice() {
        [single] => single_range(single, length),
        _ => Ok(None),
    }
}

/// One byte-range-spec against a blob of `length` bytes (RFC 9110 §14.1.2): a reversed
/// range is invalid (ignored), one starting past the end unsatisfiable (416), a suffix
/// longer than the blob means all of it.
fn single_range(
    spec: &http_range_header::SyntacticallyCorrectRange,
    length: u64,
) -> ApiResult<Option<std::ops::Range<u64>>> {
    use http_range_header::{EndPosition, StartPosition};
    let start = match spec.start {
        StartPosition::Index(start) => start,
        StartPosition::FromLast(suffix) => length.saturating_sub(suffix),
    };
    let last = match spec.end {
        EndPosition::Index(last) if last < start => return Ok(None),
        EndPosition::Index(last) => last.min(length.saturating_sub(1)),
        EndPosition::LastByte => length.saturating_sub(1),
    };
    if start >= length {
        return Err(ApiError::RangeNotSatisfiable(length));
    }
    Ok(Some(start..last + 1))
}

pub async fn download(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath((partner, sha256)): ApiPath<(String, String)>,
    request: Request,
) -> ApiResult<Response> {
    let partner = caller.partner(&partner, Scope::Read)?;
    let sha256 = Sha256Digest::parse_hex("sha256", &sha256)
        .map_err(|_| ApiError::NotFound("binary not found".into()))?;
    serve_repository_blob(&service, BlobRequest::of(&request, true), partner, sha256).await
}

/// How a blob download was asked for.
pub struct BlobRequest<'a> {
    pub method: &'a Method,
    pub headers: &'a HeaderMap,
    /// Whether a GET may be sent to the store (`307` to a presigned URL). The web UI's
    /// download names the file (Content-Disposition), which a presigned URL would not.
    pub may_redirect: bool,
}

impl<'a> BlobRequest<'a> {
    /// What `request` asks for; its method and headers are borrowed (a `HeaderMap`
    /// extractor would copy them on every download).
    pub fn of(request: &'a Request, may_redirect: bool) -> Self {
        BlobRequest {
            method: request.method(),
            headers: request.headers(),
            may_redirect,
        }
    }
}

/// Answers a blob of a partner's repository (the API's and the UI's downloads).
pub async fn serve_repository_blob(
    service: &Service,
    request: BlobRequest<'_>,
    partner: &str,
    sha256: Sha256Digest,
) -> ApiResult<Response> {
    let entry = service.repository_entry(partner, sha256).await?;
    serve_blob(service, request, sha256, entry.length, &entry.blake3).await
}

/// Answers a stored blob whose record the caller has been authorised for: validators and
/// digests, `If-None-Match` (weak comparison), then either a `307` to the store (a GET of a
/// large blob when the download policy redirects) or the bytes: one `Range` (206) or the
/// whole body, HEAD without a body. GET and HEAD open the blob alike (HEAD reads no bytes),
/// so both answer from the blob itself: a missing or resized file is an error, not a 200
/// with the record's length.
pub(super) async fn serve_blob(
    service: &Service,
    request: BlobRequest<'_>,
    sha256: Sha256Digest,
    length: u64,
    blake3: &str,
) -> ApiResult<Response> {
    let BlobRequest {
        method,
        headers,
        may_redirect,
    } = request;
    let etag = format!("\"{sha256}\"");
    let mut response_headers = HeaderMap::new();
    let header_value =
        |text: &str| HeaderValue::from_str(text).map_err(|e| ApiError::Internal(e.to_string()));
    response_headers.insert(header::ETAG, header_value(&etag)?);
    response_headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    response_headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    response_headers.insert("x-checksum-sha256", header_value(&sha256.to_hex())?);
    let b64 = base64::engine::general_purpose::STANDARD.encode(sha256.0);
    response_headers.insert("repr-digest", header_value(&format!("sha-256=:{b64}:"))?);
    response_headers.insert("x-checksum-blake3", header_value(blake3)?);

    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            // If-None-Match uses the weak comparison (RFC 9110 §13.1.2): W/ is ignored.
            v.split(',')
                .map(str::trim)
                .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
        });
    if not_modified {
        return Ok((StatusCode::NOT_MODIFIED, response_headers).into_response());
    }

    let range = requested_range(headers, length, &etag)?;
    let head = *method == Method::HEAD;
    if may_redirect && !head {
        // A presigned URL is for GET only, so HEAD stays here.
        if let Some(url) = service.direct_download_url(sha256, length).await? {
            return redirect_to_store(&url);
        }
    }
    let blob = service
        .open_blob(
            sha256,
            length,
            if head { Some(0..0) } else { range.clone() },
        )
        .await?;
    let length = blob.total_length;
    let (status, served) = match &range {
        Some(r) => {
            let content_range = format!("bytes {}-{}/{}", r.start, r.end - 1, length);
            response_headers.insert(header::CONTENT_RANGE, header_value(&content_range)?);
            (StatusCode::PARTIAL_CONTENT, r.end - r.start)
        }
        None => (StatusCode::OK, length),
    };
    response_headers.insert(header::CONTENT_LENGTH, header_value(&served.to_string())?);
    if head {
        return Ok((status, response_headers).into_response());
    }
    metrics::counter!("fwrepo_download_bytes_total").increment(served);
    let body = match blob.reader {
        // Read already: one body that hyper sends with the head, no stream to poll.
        BlobBytes::InMemory(unread) => {
            let start = unread.position() as usize;
            Body::from(unread.into_inner().slice(start..))
        }
        reader => {
            let chunk = STREAM_CHUNK.min(usize::try_from(served).unwrap_or(STREAM_CHUNK));
            Body::from_stream(ReaderStream::with_capacity(reader, chunk.max(1)))
        }
    };
    Ok((status, response_headers, body).into_response())
}
