//! Page 8, access (admins): OAuth clients (create with the secret shown once, list, revoke)
//! and people (create, list, disable/enable), through the Authenticator's functions.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::error::{UiError, UiResult};
use super::session::UiUser;
use super::view::{self, Ctx, Done, UiForm};
use crate::auth::{AuthError, Authenticator};
use crate::domain::{ClientRecord, Role, Scope, UserRecord};

/// A client created by this request: its secret is shown this once.
pub struct NewClient {
    pub client_id: String,
    pub secret: String,
}

pub struct ClientRow {
    pub record: ClientRecord,
    pub scopes: String,
    pub created: String,
}

pub struct UserRow {
    pub record: UserRecord,
    pub created: String,
}

#[derive(Template)]
#[template(path = "ui/access.html")]
struct AccessPage {
    ctx: Ctx,
    clients: Vec<ClientRow>,
    users: Vec<UserRow>,
    new_client: Option<NewClient>,
}

/// Runs an Authenticator call off the async threads (password hashing is slow by design).
async fn blocking<T: Send + 'static>(
    auth: &Arc<Authenticator>,
    op: impl FnOnce(&Authenticator) -> Result<T, AuthError> + Send + 'static,
) -> UiResult<T> {
    let auth = Arc::clone(auth);
    crate::service::spawn_blocking(move || op(&auth))
        .await
        .map_err(|e| UiError::Internal(format!("access task failed: {e}")))?
        .map_err(UiError::from)
}

async fn render(
    auth: &Arc<Authenticator>,
    user: &UiUser,
    done: &Done,
    new_client: Option<NewClient>,
) -> UiResult<Response> {
    let partner = user.partner(Scope::Admin)?.to_string();
    let owner = partner.clone();
    let clients = blocking(auth, move |a| a.list_clients(&owner)).await?;
    let users = blocking(auth, move |a| a.list_users(&partner)).await?;
    Ok(view::page(AccessPage {
        ctx: Ctx::new(user, "access", done),
        clients: clients
            .into_iter()
            .map(|record| ClientRow {
                scopes: record
                    .scopes
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                created: view::timestamp(record.created_ms),
                record,
            })
            .collect(),
        users: users
            .into_iter()
            .map(|record| UserRow {
                created: view::timestamp(record.created_ms),
                record,
            })
            .collect(),
        new_client,
    }))
}

pub async fn page(
    State(auth): State<Arc<Authenticator>>,
    user: UiUser,
    Query(done): Query<Done>,
) -> UiResult<Response> {
    render(&auth, &user, &done, None).await
}

#[derive(Deserialize)]
pub struct ClientForm {
    #[serde(default)]
    read: Option<String>,
    #[serde(default)]
    write: Option<String>,
    #[serde(default)]
    admin: Option<String>,
}

pub async fn create_client(
    State(auth): State<Arc<Authenticator>>,
    user: UiUser,
    UiForm(form): UiForm<ClientForm>,
) -> UiResult<Response> {
    let partner = user.partner(Scope::Admin)?.to_string();
    let scopes: Vec<Scope> = [
        (form.read.is_some(), Scope::Read),
        (form.write.is_some(), Scope::Write),
        (form.admin.is_some(), Scope::Admin),
    ]
    .into_iter()
    .filter_map(|(chosen, scope)| chosen.then_some(scope))
    .collect();
    if scopes.is_empty() {
        return Err(UiError::Invalid(
            "Choose at least one scope for the client.".into(),
        ));
    }
    let (record, secret) = blocking(&auth, move |a| a.create_client(&partner, scopes)).await?;
    let new_client = NewClient {
        client_id: record.client_id,
        secret,
    };
    render(&auth, &user, &Done::default(), Some(new_client)).await
}

pub async fn revoke_client(
    State(auth): State<Arc<Authenticator>>,
    user: UiUser,
    Path(client_id): Path<String>,
) -> UiResult<Response> {
    let partner = user.partner(Scope::Admin)?.to_string();
    blocking(&auth, move |a| a.revoke_client(&partner, &client_id)).await?;
    Ok(view::see_other("/ui/access", "client-revoked"))
}

#[derive(Deserialize)]
pub struct UserForm {
    username: String,
    role: String,
    password: String,
}

pub async fn create_user(
    State(auth): State<Arc<Authenticator>>,
    user: UiUser,
    UiForm(form): UiForm<UserForm>,
) -> UiResult<Response> {
    let partner = user.partner(Scope::Admin)?.to_string();
    let role: Role = form
        .role
        .parse()
        .map_err(|_| UiError::Invalid("Role must be viewer, maintainer or admin.".into()))?;
    let username = form.username.trim().to_string();
    blocking(&auth, move |a| {
        a.create_user(&partner, &username, role, &form.password)
    })
    .await?;
    Ok(view::see_other("/ui/access", "user-created"))
}

#[derive(Deserialize)]
pub struct DisableForm {
    disabled: String,
}

pub async fn set_user_disabled(
    State(auth): State<Arc<Authenticator>>,
    user: UiUser,
    Path(username): Path<String>,
    UiForm(form): UiForm<DisableForm>,
) -> UiResult<Response> {
    let partner = user.partner(Scope::Admin)?.to_string();
    let disabled = form.disabled == "true";
    blocking(&auth, move |a| {
        a.set_user_disabled(&partner, &username, disabled)
    })
    .await?;
    Ok(view::see_other(
        "/ui/access",
        if disabled {
            "user-disabled"
        } else {
            "user-enabled"
        },
    ))
}
