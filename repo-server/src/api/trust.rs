//! A partner's trusted keys and signing policy (scope `admin`), under
//! `/v1/ota/partners/{partnerId}/admin`: add, list and remove minisign public keys; read and
//! set the protected tags. Handlers parse and map; `service::trust` decides.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use fwrepo_schemas::{SigningPolicy, TrustedKey, TrustedKeyCreate};

use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath, Caller};
use crate::domain::trust::TrustedKeyRecord;
use crate::domain::Scope;
use crate::service::Service;

fn trusted_key_wire(record: TrustedKeyRecord) -> TrustedKey {
    TrustedKey {
        key_id: record.key_id,
        public_key: record.public_key,
        description: record.description,
        created_timestamp: record.created_ms,
    }
}

pub async fn add_key(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath(partner): ApiPath<String>,
    ApiJson(body): ApiJson<TrustedKeyCreate>,
) -> ApiResult<(StatusCode, Json<TrustedKey>)> {
    let partner = caller.partner(&partner, Scope::Admin)?;
    let record = service
        .add_trusted_key(partner, &body.public_key, body.description)
        .await?;
    Ok((StatusCode::CREATED, Json(trusted_key_wire(record))))
}

pub async fn list_keys(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath(partner): ApiPath<String>,
) -> ApiResult<Json<Vec<TrustedKey>>> {
    let partner = caller.partner(&partner, Scope::Admin)?;
    let keys = service.trusted_keys(partner).await?;
    Ok(Json(keys.into_iter().map(trusted_key_wire).collect()))
}

pub async fn remove_key(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath((partner, key_id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let partner = caller.partner(&partner, Scope::Admin)?;
    service.remove_trusted_key(partner, &key_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn policy(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath(partner): ApiPath<String>,
) -> ApiResult<Json<SigningPolicy>> {
    let partner = caller.partner(&partner, Scope::Admin)?;
    let policy = service.signing_policy(partner).await?;
    Ok(Json(SigningPolicy {
        protected_tags: policy.protected_tags,
    }))
}

pub async fn set_policy(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath(partner): ApiPath<String>,
    ApiJson(body): ApiJson<SigningPolicy>,
) -> ApiResult<Json<SigningPolicy>> {
    let partner = caller.partner(&partner, Scope::Admin)?;
    let policy = service
        .set_signing_policy(partner, &body.protected_tags)
        .await?;
    tracing::info!(protected_tags = ?policy.protected_tags, by = %caller.0.actor_id(), "signing policy set");
    Ok(Json(SigningPolicy {
        protected_tags: policy.protected_tags,
    }))
}
