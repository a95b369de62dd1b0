//! The admin API of a partner (`admin` scope), under `/v1/ota/partners/{partnerId}/admin`:
//! OAuth clients (create with the secret shown once, list, revoke) and people's accounts
//! (create, list, change role, disable). Handlers parse and map; `auth` decides.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use fwrepo_schemas::{
    ClientCreate, ClientCredentials, ClientSummary, Page, User, UserCreate, UserUpdate,
};
use serde::Deserialize;

use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use super::wire;
use crate::auth::{AuthError, Authenticator, UserChange};
use crate::domain::{PageRequest, Scope};

#[derive(Deserialize)]
pub struct ListParams {
    page: Option<String>,
    size: Option<String>,
}

/// Runs an `Authenticator` call on the blocking pool (RocksDB reads, Argon2 hashing).
async fn blocking<T: Send + 'static>(
    auth: &Arc<Authenticator>,
    call: impl FnOnce(&Authenticator) -> Result<T, AuthError> + Send + 'static,
) -> ApiResult<T> {
    let auth = Arc::clone(auth);
    Ok(crate::service::spawn_blocking(move || call(&auth))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??)
}

/// One page of an in-memory list (clients and users of a partner are few).
fn page_of<T>(mut items: Vec<T>, params: &ListParams, sort: &str) -> ApiResult<Page<T>> {
    let request = PageRequest::parse(params.page.as_deref(), params.size.as_deref(), None)?;
    let total = items.len();
    let content: Vec<T> = items.drain(request.window(total)).collect();
    let mut page = wire::page(content, total as u64, &request);
    page.sort = sort.to_string();
    Ok(page)
}

fn parse_scopes(names: &[String]) -> ApiResult<Vec<Scope>> {
    names
        .iter()
        .map(|name| {
            Scope::parse(name).ok_or_else(|| {
                ApiError::Validation(format!(
                    "unknown scope '{name}' (ota:read, ota:write, admin)"
                ))
            })
        })
        .collect()
}

pub async fn create_client(
    State(auth): State<Arc<Authenticator>>,
    caller: Caller,
    ApiPath(partner): ApiPath<String>,
    ApiJson(body): ApiJson<ClientCreate>,
) -> ApiResult<(StatusCode, Json<ClientCredentials>)> {
    let partner = caller.partner(&partner, Scope::Admin)?.to_string();
    let scopes = parse_scopes(&body.scopes)?;
    let (client, secret) = blocking(&auth, move |a| {
        a.create_described_client(&partner, scopes, body.description)
    })
    .await?;
    tracing::info!(client.id = %client.client_id, by = %caller.0.actor_id(), "client created");
    Ok((
        StatusCode::CREATED,
        Json(wire::client_credentials(&client, secret)),
    ))
}

pub async fn list_clients(
    State(auth): State<Arc<Authenticator>>,
    caller: Caller,
    ApiPath(partner): ApiPath<String>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<ClientSummary>>> {
    let partner = caller.partner(&partner, Scope::Admin)?.to_string();
    let clients = blocking(&auth, move |a| a.list_clients(&partner)).await?;
    let summaries = clients.iter().map(wire::client_summary).collect();
    Ok(Json(page_of(summaries, &params, "client_id,asc")?))
}

pub async fn revoke_client(
    State(auth): State<Arc<Authenticator>>,
    caller: Caller,
    ApiPath((partner, client_id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let partner = caller.partner(&partner, Scope::Admin)?.to_string();
    let id = client_id.clone();
    blocking(&auth, move |a| a.revoke_client(&partner, &id)).await?;
    tracing::info!(client.id = %client_id, by = %caller.0.actor_id(), "client revoked");
    Ok(StatusCode::NO_CONTENT)
}

pub async fn create_user(
    State(auth): State<Arc<Authenticator>>,
    caller: Caller,
    ApiPath(partner): ApiPath<String>,
    ApiJson(body): ApiJson<UserCreate>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let partner = caller.partner(&partner, Scope::Admin)?.to_string();
    let role = wire::role(body.role);
    let user = blocking(&auth, move |a| {
        a.create_user(&partner, &body.username, role, &body.password)
    })
    .await?;
    tracing::info!(user.name = %user.username, user.role = %user.role, by = %caller.0.actor_id(), "user created");
    Ok((StatusCode::CREATED, Json(wire::user(&user))))
}

pub async fn list_users(
    State(auth): State<Arc<Authenticator>>,
    caller: Caller,
    ApiPath(partner): ApiPath<String>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<User>>> {
    let partner = caller.partner(&partner, Scope::Admin)?.to_string();
    let users = blocking(&auth, move |a| a.list_users(&partner)).await?;
    let users = users.iter().map(wire::user).collect();
    Ok(Json(page_of(users, &params, "username,asc")?))
}

pub async fn update_user(
    State(auth): State<Arc<Authenticator>>,
    caller: Caller,
    ApiPath((partner, username)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<UserUpdate>,
) -> ApiResult<Json<User>> {
    let partner = caller.partner(&partner, Scope::Admin)?.to_string();
    let change = UserChange {
        disabled: body.disabled,
        role: body.role.map(wire::role),
    };
    let user = blocking(&auth, move |a| a.update_user(&partner, &username, change)).await?;
    tracing::info!(user.name = %user.username, user.role = %user.role, user.disabled = user.disabled, by = %caller.0.actor_id(), "user changed");
    Ok(Json(wire::user(&user)))
}
