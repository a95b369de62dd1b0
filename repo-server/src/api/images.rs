//! Device-type firmware images: `/v1/ota/partners/{partnerId}/deviceTypes/{deviceTypeId}/firmwareImages...`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use fwrepo_schemas::{FirmwareImage, FirmwareImageCreate, Page, StringValue};
use serde::Deserialize;

use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use super::wire;
use crate::domain::{FirmwareTypeNumber, PageRequest, Scope};
use crate::service::images::{image_tags, parse_version_number, ImageInput};
use crate::service::Service;

#[derive(Deserialize, Default)]
pub struct ListParams {
    page: Option<String>,
    size: Option<String>,
    sort: Option<String>,
    tags: Option<String>,
}

pub async fn create(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath((partner, device_type)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<FirmwareImageCreate>,
) -> ApiResult<(StatusCode, Json<FirmwareImage>)> {
    let partner = caller.partner(&partner, Scope::Write)?;
    let input = ImageInput {
        fw_type: body.fw_type,
        version_number: body.version_number,
        name: body.name,
        url: body.url,
        version: body.version,
    };
    let view = service.create_image(partner, &device_type, input).await?;
    Ok((StatusCode::CREATED, Json(wire::firmware_image(&view))))
}

async fn list_with(
    service: &Service,
    partner: &str,
    device_type: &str,
    fw_type: Option<FirmwareTypeNumber>,
    params: ListParams,
) -> ApiResult<Json<Page<FirmwareImage>>> {
    let page = PageRequest::parse(
        params.page.as_deref(),
        params.size.as_deref(),
        params.sort.as_deref(),
    )?;
    let tags = image_tags(params.tags.as_deref())?;
    let (views, total) = service
        .list_images(partner, device_type, fw_type, tags, &page)
        .await?;
    Ok(Json(wire::page(
        views.iter().map(wire::firmware_image).collect(),
        total,
        &page,
    )))
}

pub async fn list(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath((partner, device_type)): ApiPath<(String, String)>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<FirmwareImage>>> {
    let partner = caller.partner(&partner, Scope::Read)?;
    list_with(&service, partner, &device_type, None, params).await
}

pub async fn list_by_type(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath((partner, device_type, fw_type)): ApiPath<(String, String, String)>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<FirmwareImage>>> {
    let partner = caller.partner(&partner, Scope::Read)?;
    list_with(
        &service,
        partner,
        &device_type,
        Some(FirmwareTypeNumber::parse(&fw_type)?),
        params,
    )
    .await
}

pub async fn get(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath((partner, device_type, fw_type, version_number)): ApiPath<(
        String,
        String,
        String,
        String,
    )>,
) -> ApiResult<Json<FirmwareImage>> {
    let partner = caller.partner(&partner, Scope::Read)?;
    let view = service
        .image(
            partner,
            &device_type,
            FirmwareTypeNumber::parse(&fw_type)?,
            parse_version_number(&version_number)?,
        )
        .await?;
    Ok(Json(wire::firmware_image(&view)))
}

pub async fn delete(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath((partner, device_type, fw_type, version_number)): ApiPath<(
        String,
        String,
        String,
        String,
    )>,
) -> ApiResult<StatusCode> {
    let partner = caller.partner(&partner, Scope::Write)?;
    service
        .delete_image(
            partner,
            &device_type,
            FirmwareTypeNumber::parse(&fw_type)?,
            parse_version_number(&version_number)?,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn push(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath((partner, device_type, image_id)): ApiPath<(String, String, String)>,
    ApiJson(body): ApiJson<StringValue>,
) -> ApiResult<StatusCode> {
    let partner = caller.partner(&partner, Scope::Write)?;
    service
        .push_image(partner, &device_type, &image_id, body.value.trim())
        .await?;
    Ok(StatusCode::ACCEPTED)
}
