//! Page 5, upload: the browser streams a file (XHR body, progress shown by `upload.js`) into
//! the same upload and moveToRepository code as the API, then gets the record form with the
//! SHA-256 and whether the bytes were already stored. Without JavaScript the same form is
//! posted as multipart (`_csrf`, `type`, then the file, streamed) and the page comes back
//! with the record form.

use std::sync::Arc;

use askama::Template;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::{UiError, UiResult};
use super::session::UiUser;
use super::view::{self, Ctx, Done, UiForm};
use crate::domain::{FirmwareTypeRecord, PageRequest, PoolQuery, PoolRecordData, Sha256Digest};
use crate::service::pool::PoolRecordInput;
use crate::service::Service;

#[derive(Template)]
#[template(path = "ui/upload.html")]
struct UploadPage {
    ctx: Ctx,
    types: Vec<FirmwareTypeRecord>,
    /// The record form after a plain-form upload.
    result: Option<String>,
}

pub async fn page(
    State(service): State<Arc<Service>>,
    user: UiUser,
    Query(done): Query<Done>,
) -> UiResult<Response> {
    let partner = view::require_write(&user)?;
    let types = service.list_types(partner).await?;
    Ok(view::page(UploadPage {
        ctx: Ctx::new(&user, "upload", &done),
        types,
        result: None,
    }))
}

/// The record form shown once the bytes are stored.
#[derive(Template)]
#[template(path = "ui/upload_done.html")]
struct UploadDone {
    csrf: String,
    fw_type: u16,
    sha256: String,
    size: String,
    length: u64,
    /// The blob existed before this upload (deduplicated).
    already_stored: bool,
    /// Records of this partner that already hold these bytes.
    existing: Vec<PoolRecordData>,
    name: String,
}

#[derive(Deserialize)]
pub struct UploadParams {
    #[serde(rename = "type")]
    fw_type: String,
    #[serde(default)]
    filename: String,
}

/// `POST /ui/upload/binary?type=N&filename=F`: the raw file as the body. Answers an HTML
/// fragment (the record form, or the message of what went wrong) for `upload.js` to show.
pub async fn binary(
    State(service): State<Arc<Service>>,
    user: UiUser,
    Query(params): Query<UploadParams>,
    request: Request,
) -> Response {
    match store(&service, &user, params, request).await {
        Ok(done) => view::html(StatusCode::OK, done.render()),
        Err(error) => error.into_fragment(),
    }
}

async fn store(
    service: &Service,
    user: &UiUser,
    params: UploadParams,
    request: Request,
) -> UiResult<UploadDone> {
    let partner = view::require_write(user)?;
    let fw_type = crate::domain::FirmwareTypeNumber::parse(params.fw_type.trim())?;
    service.get_type(partner, fw_type).await?;
    let limit = service.config().max_upload_bytes;
    let request = crate::api::binaries::refuse_declared_oversize(request, limit).await?;
    let mut upload = service.begin_upload(Default::default()).await?;
    if let Err(error) = crate::api::binaries::stream_raw(&mut upload, request).await {
        upload.abort().await;
        return Err(error.into());
    }
    stored(service, user, fw_type, &params.filename, upload).await
}

/// Finishes an upload whose bytes are all written: moves it to the repository and makes the
/// record form.
async fn stored(
    service: &Service,
    user: &UiUser,
    fw_type: crate::domain::FirmwareTypeNumber,
    filename: &str,
    upload: crate::service::binaries::Upload<'_>,
) -> UiResult<UploadDone> {
    let partner = view::require_write(user)?;
    let written = upload.finish(partner).await?.written;
    service.move_to_repository(partner, written.sha256).await?;
    tracing::info!(blob.sha256 = %written.sha256, size_bytes = written.length, created = written.created, "binary uploaded from the web UI");
    let existing = records_of(service, partner, written.sha256).await?;
    let name = filename
        .rsplit_once('.')
        .map_or(filename, |(stem, _)| stem)
        .to_string();
    Ok(UploadDone {
        csrf: user.session.csrf_token.clone(),
        fw_type: fw_type.get(),
        sha256: written.sha256.to_hex(),
        size: view::bytes(written.length),
        length: written.length,
        already_stored: !written.created,
        existing,
        name,
    })
}

/// `POST /ui/upload/form`: the upload form sent without JavaScript, as multipart with its
/// fields in page order: `_csrf` (checked before anything else is read), `type`, the file
/// (streamed into the upload). Answers the upload page with the record form under it.
pub async fn form(
    State(service): State<Arc<Service>>,
    unchecked: Option<axum::Extension<super::csrf::Unchecked>>,
    request: Request,
) -> UiResult<Response> {
    let Some(axum::Extension(unchecked)) = unchecked else {
        return Err(UiError::Csrf);
    };
    let limit = service.config().max_upload_bytes;
    let request =
        crate::api::binaries::refuse_declared_oversize(request, limit + FORM_OVERHEAD).await?;
    let mut form = axum::extract::Multipart::from_request(request, &())
        .await
        .map_err(|_| UiError::Invalid("The form could not be read.".into()))?;
    let user = unchecked.verify(&text_field(&mut form, super::csrf::FIELD).await?)?;
    let partner = view::require_write(&user)?;
    let fw_type =
        crate::domain::FirmwareTypeNumber::parse(text_field(&mut form, "type").await?.trim())?;
    service.get_type(partner, fw_type).await?;
    let mut file = form
        .next_field()
        .await
        .map_err(malformed)?
        .filter(|field| field.name() == Some("file"))
        .ok_or_else(|| UiError::Invalid("Choose a file to upload.".into()))?;
    let filename = file.file_name().unwrap_or_default().to_string();
    let mut upload = service.begin_upload(Default::default()).await?;
    if let Err(error) = crate::api::binaries::stream_field(&mut upload, &mut file).await {
        upload.abort().await;
        return Err(error.into());
    }
    let done = stored(&service, &user, fw_type, &filename, upload).await?;
    let types = service.list_types(partner).await?;
    Ok(view::page(UploadPage {
        ctx: Ctx::new(&user, "upload", &Done::default()),
        types,
        result: Some(
            done.render()
                .map_err(|e| UiError::Internal(e.to_string()))?,
        ),
    }))
}

/// Multipart framing and the small fields before the file.
const FORM_OVERHEAD: u64 = 64 * 1024;

fn malformed(_: axum::extract::multipart::MultipartError) -> UiError {
    UiError::Invalid("The form could not be read (the upload was interrupted?).".into())
}

/// The next field, which must be the small text field `name`.
async fn text_field(form: &mut axum::extract::Multipart, name: &str) -> UiResult<String> {
    match form.next_field().await.map_err(malformed)? {
        Some(field) if field.name() == Some(name) && field.file_name().is_none() => {
            field.text().await.map_err(malformed)
        }
        _ if name == super::csrf::FIELD => Err(UiError::Csrf),
        _ => Err(UiError::Invalid(format!(
            "The form's field '{name}' is missing."
        ))),
    }
}

/// The partner's records of a binary (a few; the sha256 index answers them).
async fn records_of(
    service: &Service,
    partner: &str,
    sha256: Sha256Digest,
) -> UiResult<Vec<PoolRecordData>> {
    let query = PoolQuery {
        sha256: Some(sha256),
        page: PageRequest {
            size: 10,
            ..PageRequest::default()
        },
        ..PoolQuery::default()
    };
    Ok(service.list_pool(partner, query).await?.records)
}

#[derive(Deserialize)]
pub struct RecordForm {
    #[serde(rename = "type")]
    fw_type: String,
    sha256: String,
    name: String,
    version: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    device_types: String,
}

/// Splits a comma (or whitespace, for ids) separated list.
fn list(text: &str, split_on_space: bool) -> Vec<String> {
    text.split(|c: char| c == ',' || (split_on_space && c.is_whitespace()))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

pub async fn create_record(
    State(service): State<Arc<Service>>,
    user: UiUser,
    UiForm(form): UiForm<RecordForm>,
) -> UiResult<Response> {
    let partner = view::require_write(&user)?;
    let sha256 = Sha256Digest::parse_hex("sha256", form.sha256.trim())?;
    let fw_type: i64 = form
        .fw_type
        .trim()
        .parse()
        .map_err(|_| UiError::Invalid("Choose a firmware type.".into()))?;
    let description = form.description.trim();
    let input = PoolRecordInput {
        fw_type,
        name: form.name.trim().to_string(),
        description: (!description.is_empty()).then(|| description.to_string()),
        version: form.version.trim().to_string(),
        url: crate::api::urls::repository_url(&service, partner, &sha256),
        sha256,
        tags: list(&form.tags, false),
    };
    let (record, _) = service
        .create_pool_record(partner, input, list(&form.device_types, true))
        .await?;
    Ok(view::see_other(
        &format!("/ui/pool/{}/{}", record.fw_type, record.version_number),
        "record-created",
    )
    .into_response())
}
