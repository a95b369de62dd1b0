//! The firmware pool: `/v1/ota/partners/{partnerId}/pool...` and `/tags`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use fwrepo_schemas::{
    Association, BoolValue, Page, PoolRecord, PoolRecordCreate, PoolRecordUpdate,
};
use serde::Deserialize;

use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use super::{urls, wire};
use crate::domain::query::{parse_commit, parse_tag_filter, parse_version_req};
use crate::domain::{FirmwareTypeNumber, PageRequest, PoolQuery, Scope, Sha256Digest};
use crate::service::images::parse_version_number;
use crate::service::pool::PoolRecordInput;
use crate::service::Service;

/// Query parameters of the pool lists. Values stay strings so parse errors are ours.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    pub page: Option<String>,
    pub size: Option<String>,
    pub sort: Option<String>,
    pub tags: Option<String>,
    pub name: Option<String>,
    pub version: Option<String>,
    pub version_req: Option<String>,
    pub latest: Option<String>,
    pub commit: Option<String>,
    pub sha256: Option<String>,
}

impl ListParams {
    pub(crate) fn into_query(self, fw_type: Option<FirmwareTypeNumber>) -> ApiResult<PoolQuery> {
        let latest = match self.latest.as_deref() {
            None | Some("false") => false,
            Some("true") | Some("") => true,
            Some(other) => {
                return Err(ApiError::InvalidQuery(format!(
                    "latest must be true or false, not '{other}'"
                )))
            }
        };
        Ok(PoolQuery {
            fw_type,
            tags: parse_tag_filter(self.tags.as_deref())?,
            name: self.name,
            version: self.version,
            version_req: self
                .version_req
                .as_deref()
                .map(parse_version_req)
                .transpose()?,
            latest,
            commit: self.commit.as_deref().map(parse_commit).transpose()?,
            sha256: self
                .sha256
                .as_deref()
                .map(|hex| {
                    Sha256Digest::parse_hex("sha256", hex)
                        .map_err(|e| ApiError::InvalidQuery(e.to_string()))
                })
                .transpose()?,
            page: PageRequest::parse(
                self.page.as_deref(),
                self.size.as_deref(),
                self.sort.as_deref(),
            )?,
        })
    }
}

fn input_from_create(
    service: &Service,
    partner: &str,
    body: &PoolRecordCreate,
) -> ApiResult<PoolRecordInput> {
    Ok(PoolRecordInput {
        fw_type: body.fw_type,
        name: body.name.clone(),
        description: body.description.clone(),
        version: body.version.clone(),
        url: body.url.clone(),
        sha256: urls::repository_blob(service, partner, &body.url)?,
        tags: body.tags.clone(),
    })
}

pub async fn create(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath(partner): ApiPath<String>,
    ApiJson(body): ApiJson<PoolRecordCreate>,
) -> ApiResult<(StatusCode, Json<PoolRecord>)> {
    let partner = caller.partner(&partner, Scope::Write)?;
    let mut device_types = Vec::new();
    for (associated_partner, types) in body.associations.iter().flatten() {
        if associated_partner != partner {
            return Err(ApiError::Validation(format!(
                "associations may only name your own partner ({partner}), not '{associated_partner}'"
            )));
        }
        device_types.extend(types.iter().cloned());
    }
    let (record, _images) = service
        .create_pool_record(
            partner,
            input_from_create(&service, partner, &body)?,
            device_types,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(wire::pool_record(&record))))
}

async fn list_with(
    service: &Service,
    partner: &str,
    query: PoolQuery,
) -> ApiResult<Json<Page<PoolRecord>>> {
    let page_request = query.page.clone();
    let page = service.list_pool(partner, query).await?;
    let content = page.records.iter().map(wire::pool_record).collect();
    Ok(Json(wire::page(content, page.total, &page_request)))
}

pub async fn list(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath(partner): ApiPath<String>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<PoolRecord>>> {
    let partner = caller.partner(&partner, Scope::Read)?;
    list_with(&service, partner, params.into_query(None)?).await
}

pub async fn list_by_type(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath((partner, fw_type)): ApiPath<(String, String)>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<PoolRecord>>> {
    let partner = caller.partner(&partner, Scope::Read)?;
    let fw_type = FirmwareTypeNumber::parse(&fw_type)?;
    list_with(&service, partner, params.into_query(Some(fw_type))?).await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExistsParams {
    exclude_firmware_image_id: Option<String>,
}

pub async fn exists(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath((partner, fw_type, name, version)): ApiPath<(String, String, String, String)>,
    ApiQuery(params): ApiQuery<ExistsParams>,
) -> ApiResult<Json<BoolValue>> {
    let partner = caller.partner(&partner, Scope::Read)?;
    let fw_type = FirmwareTypeNumber::parse(&fw_type)?;
    let exclude = params
        .exclude_firmware_image_id
        .as_deref()
        .map(|id| crate::service::images::parse_id("excludeFirmwareImageId", id))
        .transpose()?;
    let value = service
        .pool_name_exists(partner, fw_type, name, version, exclude)
        .await?;
    Ok(Json(BoolValue { value }))
}

pub async fn associations(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath((partner, fw_type, version_number)): ApiPath<(String, String, String)>,
) -> ApiResult<Json<Vec<Association>>> {
    let partner = caller.partner(&partner, Scope::Read)?;
    let (record, images) = service
        .associations(
            partner,
            FirmwareTypeNumber::parse(&fw_type)?,
            parse_version_number(&version_number)?,
        )
        .await?;
    let associations = images
        .into_iter()
        .map(|image| Association {
            name: record.name.clone(),
            partner_id: image.partner,
            email: None,
            device_type_id: image.device_type,
            device_type_name: None,
            firmware_image_id: image.id.to_string(),
        })
        .collect();
    Ok(Json(associations))
}

pub async fn get(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath((partner, fw_type, version_number)): ApiPath<(String, String, String)>,
) -> ApiResult<Json<PoolRecord>> {
    let partner = caller.partner(&partner, Scope::Read)?;
    let record = service
        .pool_record(
            partner,
            FirmwareTypeNumber::parse(&fw_type)?,
            parse_version_number(&version_number)?,
        )
        .await?;
    Ok(Json(wire::pool_record(&record)))
}

pub async fn update(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath((partner, fw_type, version_number)): ApiPath<(String, String, String)>,
    ApiJson(body): ApiJson<PoolRecordUpdate>,
) -> ApiResult<StatusCode> {
    let partner = caller.partner(&partner, Scope::Write)?;
    let fw_type = FirmwareTypeNumber::parse(&fw_type)?;
    let input = PoolRecordInput {
        fw_type: i64::from(fw_type.get()),
        name: body.name,
        description: body.description,
        version: body.version,
        sha256: urls::repository_blob(&service, partner, &body.url)?,
        url: body.url,
        tags: body.tags,
    };
    service
        .update_pool_record(
            partner,
            fw_type,
            parse_version_number(&version_number)?,
            input,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// fwrepo addition: deletes a pool record unless something uses it (409 `in-use`).
pub async fn delete(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath((partner, fw_type, version_number)): ApiPath<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let partner = caller.partner(&partner, Scope::Write)?;
    service
        .delete_pool_record(
            partner,
            FirmwareTypeNumber::parse(&fw_type)?,
            parse_version_number(&version_number)?,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn tags(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath(partner): ApiPath<String>,
) -> ApiResult<Json<Vec<String>>> {
    let partner = caller.partner(&partner, Scope::Read)?;
    Ok(Json(service.list_tags(partner).await?))
}
