//! Span FOTA collections and their firmware images: `/collections...`. The partner is the
//! token's; another partner's collection is not found. Uploads stream into the blob store.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use fwrepo_schemas::{
    Collection, CollectionFirmware, CollectionImage, CollectionImageFromPool, CollectionImageList,
    CollectionImageUpdate, CollectionInput, CollectionList, FirmwareUsage, ManagementScope,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::binaries::expected_digest;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiPath, ApiQuery, Caller};
use super::wire::page_info;
use crate::domain::{CollectionImageRecord, Management, PageRequest, Scope};
use crate::service::binaries::Upload;
use crate::service::collections::{parse_image_id, CollectionChanges, CollectionView};
use crate::service::Service;

/// A JSON body on a Span route. Span's own examples send JSON with `curl -d`, i.e. labelled
/// `application/x-www-form-urlencoded`, so that label and a missing one are read as JSON too;
/// any other non-JSON media type is a 415.
pub struct SpanJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for SpanJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let media = super::extract::media_type(req.headers());
        if !(media.is_empty()
            || media == "application/json"
            || media.ends_with("+json")
            || media == "application/x-www-form-urlencoded")
        {
            return Err(ApiError::UnsupportedMediaType(format!(
                "expected a JSON body, not '{media}'"
            )));
        }
        parse_json(req.into_body()).await.map(SpanJson)
    }
}

async fn parse_json<T: DeserializeOwned>(body: Body) -> ApiResult<T> {
    let bytes = axum::body::to_bytes(body, super::MAX_JSON_BODY_BYTES)
        .await
        .map_err(|_| ApiError::TooLarge(super::MAX_JSON_BODY_BYTES as u64))?;
    serde_json::from_slice(&bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            ApiError::InvalidBody(format!("the JSON does not fit the schema: {e}"))
        }
        _ => ApiError::InvalidBody(format!("malformed JSON: {e}")),
    })
}

pub(super) fn scope_from_wire(scope: ManagementScope) -> Management {
    match scope {
        ManagementScope::Device => Management::Device,
        ManagementScope::Collection => Management::Collection,
        ManagementScope::Disabled => Management::Disabled,
    }
}

fn scope_to_wire(scope: Management) -> ManagementScope {
    match scope {
        Management::Device => ManagementScope::Device,
        Management::Collection => ManagementScope::Collection,
        Management::Disabled => ManagementScope::Disabled,
    }
}

fn collection_wire(view: &CollectionView) -> Collection {
    Collection {
        collection_id: view.record.id.clone(),
        firmware: CollectionFirmware {
            management: scope_to_wire(view.record.management),
            target_firmware_id: view.record.target.map(|id| id.to_string()),
            current_firmware_id: view.current.map(|id| id.to_string()),
        },
        tags: view.record.tags.clone(),
    }
}

pub(super) fn image_wire(service: &Service, record: &CollectionImageRecord) -> CollectionImage {
    CollectionImage {
        image_id: record.id.to_string(),
        version: record.version.clone(),
        filename: record.filename.clone(),
        sha256: record.sha256.to_hex(),
        length: record.length,
        collection_id: record.collection.clone(),
        created: record.created_ms,
        tags: record.tags.clone(),
        pool_record_id: record.pool.map(|p| p.pool_id.to_string()),
        url: super::urls::collection_image_url(service, record),
    }
}

fn changes(body: CollectionInput, collection: Option<&str>) -> ApiResult<CollectionChanges> {
    if let (Some(named), Some(collection)) = (&body.collection_id, collection) {
        if named != collection {
            return Err(ApiError::Validation(format!(
                "collectionId '{named}' does not name this collection ({collection})"
            )));
        }
    }
    let firmware = body.firmware.unwrap_or_default();
    Ok(CollectionChanges {
        management: firmware.management.map(scope_from_wire),
        target: firmware.target_firmware_id,
        tags: body.tags,
    })
}

pub async fn create(
    State(service): State<Arc<Service>>,
    Caller(principal): Caller,
    SpanJson(body): SpanJson<CollectionInput>,
) -> ApiResult<(StatusCode, Json<Collection>)> {
    let partner = own_partner(&principal, Scope::Write)?;
    if body.collection_id.is_some() {
        return Err(ApiError::Validation(
            "collectionId is assigned by the server".into(),
        ));
    }
    let view = service
        .create_collection(partner, changes(body, None)?)
        .await?;
    Ok((StatusCode::CREATED, Json(collection_wire(&view))))
}

/// The caller's own partner, after the scope check (Span paths carry no partner).
pub(super) fn own_partner(principal: &crate::auth::Principal, scope: Scope) -> ApiResult<&str> {
    principal.authorize(&principal.partner, scope)?;
    Ok(&principal.partner)
}

/// `?page=&size=` of a Span list (its order is fixed).
#[derive(Deserialize, Default)]
pub struct SpanPaging {
    page: Option<String>,
    size: Option<String>,
}

impl SpanPaging {
    pub(super) fn request(&self) -> ApiResult<PageRequest> {
        Ok(PageRequest::parse_span(
            self.page.as_deref(),
            self.size.as_deref(),
        )?)
    }
}

pub async fn list(
    State(service): State<Arc<Service>>,
    Caller(principal): Caller,
    ApiQuery(paging): ApiQuery<SpanPaging>,
) -> ApiResult<Json<CollectionList>> {
    let partner = own_partner(&principal, Scope::Read)?;
    let page = paging.request()?;
    let (views, total) = service.list_collections(partner, &page).await?;
    Ok(Json(CollectionList {
        page: page_info(views.len(), total, &page),
        collections: views.iter().map(collection_wire).collect(),
    }))
}

pub async fn get(
    State(service): State<Arc<Service>>,
    Caller(principal): Caller,
    ApiPath(collection): ApiPath<String>,
) -> ApiResult<Json<Collection>> {
    let partner = own_partner(&principal, Scope::Read)?;
    let view = service.collection(partner, &collection).await?;
    Ok(Json(collection_wire(&view)))
}

pub async fn update(
    State(service): State<Arc<Service>>,
    Caller(principal): Caller,
    ApiPath(collection): ApiPath<String>,
    SpanJson(body): SpanJson<CollectionInput>,
) -> ApiResult<Json<Collection>> {
    let partner = own_partner(&principal, Scope::Write)?;
    let changes = changes(body, Some(&collection))?;
    let view = service
        .update_collection(partner, &collection, changes)
        .await?;
    Ok(Json(collection_wire(&view)))
}

pub async fn delete(
    State(service): State<Arc<Service>>,
    Caller(principal): Caller,
    ApiPath(collection): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let partner = own_partner(&principal, Scope::Write)?;
    service.delete_collection(partner, &collection).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /collections/{c}/firmware`: a multipart upload (file field `image`, as
/// `curl -F image=@file` sends it) or a JSON body naming a pool record.
pub async fn create_image(
    State(service): State<Arc<Service>>,
    Caller(principal): Caller,
    ApiPath(collection): ApiPath<String>,
    request: Request,
) -> ApiResult<(StatusCode, Json<CollectionImage>)> {
    let partner = own_partner(&principal, Scope::Write)?;
    let media = super::extract::media_type(request.headers());
    let record = match media.as_str() {
        "multipart/form-data" => upload_image(&service, partner, &collection, request).await?,
        // Span's examples send JSON with `curl -d` (form-urlencoded) or unlabelled.
        "application/json" | "application/x-www-form-urlencoded" | "" => {
            let body: CollectionImageFromPool = parse_json(request.into_body()).await?;
            service
                .add_pool_image(
                    partner,
                    &collection,
                    body.pool_record.fw_type,
                    &body.pool_record.version_number,
                    body.version,
                    body.filename,
                    body.tags,
                )
                .await?
        }
        other => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "upload an image as multipart/form-data (field 'image') or name a pool record in application/json, not '{other}'"
            )))
        }
    };
    tracing::info!(image.id = record.id, blob.sha256 = %record.sha256, size_bytes = record.length, "collection image created");
    Ok((StatusCode::CREATED, Json(image_wire(&service, &record))))
}

async fn upload_image(
    service: &Service,
    partner: &str,
    collection: &str,
    request: Request,
) -> ApiResult<CollectionImageRecord> {
    // Refuse before any byte is stored when the collection does not exist.
    service.collection(partner, collection).await?;
    let expected = expected_digest(request.headers())?;
    let limit = service.config().max_upload_bytes;
    let request = super::binaries::refuse_declared_oversize(request, limit).await?;
    let multipart = Multipart::from_request(request, &()).await.map_err(|e| {
        ApiError::InvalidBody(format!("malformed multipart body: {}", e.body_text()))
    })?;
    let mut upload = service
        .begin_upload(crate::store::Expected {
            sha256: expected,
            length: None,
        })
        .await?;
    let filename = match stream_image_field(&mut upload, multipart).await {
        Ok(filename) => filename,
        Err(error) => {
            upload.abort().await;
            return Err(error);
        }
    };
    let held = upload.finish(partner).await?;
    metrics::counter!("fwrepo_upload_bytes_total").increment(held.written.length);
    Ok(service
        .add_image_from_upload(partner, collection, held, filename)
        .await?)
}

/// Streams the form's `image` field; answers its file name. Other fields are skipped.
async fn stream_image_field(
    upload: &mut Upload<'_>,
    mut multipart: Multipart,
) -> ApiResult<String> {
    let malformed = super::binaries::malformed_multipart;
    let mut filename = None;
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        if field.name() != Some("image") {
            while field.chunk().await.map_err(malformed)?.is_some() {}
            continue;
        }
        if filename.is_some() {
            return Err(ApiError::InvalidBody(
                "the form holds more than one 'image' field".into(),
            ));
        }
        filename = Some(
            field
                .file_name()
                .map(|name| name.rsplit(['/', '\\']).next().unwrap_or(name).to_string())
                .filter(|name| !name.is_empty())
                .unwrap_or_else(|| "image".to_string()),
        );
        super::binaries::stream_field(upload, &mut field).await?;
    }
    filename.ok_or_else(|| {
        ApiError::InvalidBody("the form holds no 'image' field (curl -F image=@file)".into())
    })
}

pub async fn list_images(
    State(service): State<Arc<Service>>,
    Caller(principal): Caller,
    ApiPath(collection): ApiPath<String>,
    ApiQuery(paging): ApiQuery<SpanPaging>,
) -> ApiResult<Json<CollectionImageList>> {
    let partner = own_partner(&principal, Scope::Read)?;
    let page = paging.request()?;
    let (records, total) = service
        .page_collection_images(partner, &collection, &page)
        .await?;
    Ok(Json(CollectionImageList {
        page: page_info(records.len(), total, &page),
        images: records.iter().map(|r| image_wire(&service, r)).collect(),
    }))
}

pub async fn get_image(
    State(service): State<Arc<Service>>,
    Caller(principal): Caller,
    ApiPath((collection, image)): ApiPath<(String, String)>,
) -> ApiResult<Json<CollectionImage>> {
    let partner = own_partner(&principal, Scope::Read)?;
    let record = service
        .collection_image(partner, &collection, parse_image_id(&image)?)
        .await?;
    Ok(Json(image_wire(&service, &record)))
}

pub async fn update_image(
    State(service): State<Arc<Service>>,
    Caller(principal): Caller,
    ApiPath((collection, image)): ApiPath<(String, String)>,
    SpanJson(body): SpanJson<CollectionImageUpdate>,
) -> ApiResult<Json<CollectionImage>> {
    let partner = own_partner(&principal, Scope::Write)?;
    let record = service
        .update_collection_image(
            partner,
            &collection,
            parse_image_id(&image)?,
            body.version,
            body.tags,
        )
        .await?;
    Ok(Json(image_wire(&service, &record)))
}

pub async fn delete_image(
    State(service): State<Arc<Service>>,
    Caller(principal): Caller,
    ApiPath((collection, image)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let partner = own_partner(&principal, Scope::Write)?;
    service
        .delete_collection_image(partner, &collection, parse_image_id(&image)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn usage(
    State(service): State<Arc<Service>>,
    Caller(principal): Caller,
    ApiPath((collection, image)): ApiPath<(String, String)>,
    ApiQuery(paging): ApiQuery<SpanPaging>,
) -> ApiResult<Json<FirmwareUsage>> {
    let partner = own_partner(&principal, Scope::Read)?;
    let page = paging.request()?;
    let (usage, devices) = service
        .image_usage(partner, &collection, parse_image_id(&image)?, &page)
        .await?;
    // The page counts devices of the collection, not usage entries.
    let on_page = devices
        .saturating_sub(u64::from(page.page) * u64::from(page.size))
        .min(u64::from(page.size)) as usize;
    Ok(Json(FirmwareUsage {
        firmware_id: usage.image.to_string(),
        targeted_devices: usage.targeted,
        current_devices: usage.current,
        page: page_info(on_page, devices, &page),
    }))
}

/// `GET|HEAD /collections/{c}/firmware/{id}/download`: the image's bytes, with Range.
pub async fn download(
    State(service): State<Arc<Service>>,
    Caller(principal): Caller,
    ApiPath((collection, image)): ApiPath<(String, String)>,
    request: Request,
) -> ApiResult<Response> {
    let partner = own_partner(&principal, Scope::Read)?;
    let record = service
        .collection_image(partner, &collection, parse_image_id(&image)?)
        .await?;
    super::repository::serve_blob(
        &service,
        super::repository::BlobRequest::of(&request, true),
        record.sha256,
        record.length,
        &record.blake3,
    )
    .await
}
