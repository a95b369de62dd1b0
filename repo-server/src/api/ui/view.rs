//! What every page shares: the signed-in person's context (name, role, CSRF token, which
//! controls to show), the one way a rendered template becomes a response, and display helpers.

use axum::extract::FromRequest;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::assets::AssetUrls;
use super::error::UiError;
use super::session::UiUser;
use crate::domain::{Role, Scope};

/// The page context every template extends from.
pub struct Ctx {
    pub username: String,
    pub role: &'static str,
    pub csrf: String,
    /// Write controls are shown (the role holds `ota:write`).
    pub can_write: bool,
    pub is_admin: bool,
    /// Which main navigation entry is the current page.
    pub nav: &'static str,
    /// A confirmation of the last action (from the redirect after a POST).
    pub notice: Option<&'static str>,
    pub assets: AssetUrls,
}

impl Ctx {
    pub fn new(user: &UiUser, nav: &'static str, done: &Done) -> Self {
        let principal = &user.session.principal;
        Ctx {
            username: user.session.username.clone(),
            role: user.session.role.as_str(),
            csrf: user.session.csrf_token.clone(),
            can_write: Scope::grants(&principal.scopes, Scope::Write),
            is_admin: user.session.role == Role::Admin,
            nav,
            notice: done.notice(),
            assets: AssetUrls,
        }
    }
}

/// `?done=<code>`: which action the redirect after a POST confirms. Only known codes show a
/// message, so a crafted link cannot put words in the page.
#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

impl Done {
    fn notice(&self) -> Option<&'static str> {
        Some(match self.done.as_deref()? {
            "type-created" => "Firmware type created.",
            "type-updated" => "Firmware type saved.",
            "record-created" => "Pool record created.",
            "tag-added" => "Tag added.",
            "tag-removed" => "Tag removed.",
            "associated" => "Device type associated.",
            "dissociated" => "Device type association removed.",
            "pushed" => "Pushed to the devices.",
            "collection-created" => "Collection created.",
            "settings-saved" => "Collection settings saved.",
            "image-added" => "Image added to the collection.",
            "image-saved" => "Image saved.",
            "image-deleted" => "Image deleted.",
            "record-deleted" => "Pool record deleted.",
            "retention-run" => {
                "Retention run finished: its outcome is the first of the runs below."
            }
            "device-added" => "Device added.",
            "target-set" => "Target set.",
            "target-rollback" => {
                "Target set. It is older than what the device runs: this is a rollback."
            }
            "client-revoked" => "Client revoked.",
            "user-created" => "User created.",
            "user-disabled" => "User disabled.",
            "user-enabled" => "User enabled.",
            _ => return None,
        })
    }
}

/// A url-encoded form body; one that does not fit is a readable 400 page.
pub struct UiForm<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for UiForm<T> {
    type Rejection = UiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, UiError> {
        axum::Form::<T>::from_request(request, state)
            .await
            .map(|form| UiForm(form.0))
            .map_err(|e| UiError::Invalid(format!("The form could not be read: {}", e.body_text())))
    }
}

/// A redirect after a successful POST, confirming `done`.
pub fn see_other(path: &str, done: &str) -> Response {
    let separator = if path.contains('?') { '&' } else { '?' };
    axum::response::Redirect::to(&format!("{path}{separator}done={done}")).into_response()
}

/// Renders a template result as an HTML response (never cached: pages carry CSRF tokens).
pub fn html(status: StatusCode, rendered: askama::Result<String>) -> Response {
    match rendered {
        Ok(body) => {
            let mut response = (status, body).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => {
            tracing::error!(error.detail = %error, "template rendering failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "Something went wrong on the server.",
            )
                .into_response()
        }
    }
}

/// Renders a page with status 200.
pub fn page<T: askama::Template>(template: T) -> Response {
    html(StatusCode::OK, template.render())
}

/// Requires the write scope for a control (a viewer's forged POST is refused).
pub fn require_write(user: &UiUser) -> Result<&str, UiError> {
    user.partner(Scope::Write)
}

/// "3 minutes ago", from milliseconds since the epoch.
pub fn ago(ms: u64) -> String {
    let seconds = crate::meta::now_ms().saturating_sub(ms) / 1000;
    let (n, unit) = match seconds {
        0..=59 => return "just now".into(),
        60..=3599 => (seconds / 60, "minute"),
        3600..=86_399 => (seconds / 3600, "hour"),
        _ => (seconds / 86_400, "day"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// A UTC timestamp (`2026-11-29 23:55 UTC`) from milliseconds since the epoch.
pub fn timestamp(ms: u64) -> String {
    format!("{} UTC", &timestamp_seconds(ms)[..16])
}

/// A UTC timestamp to the second (`2026-11-29 23:55:07`), for the audit log.
pub fn timestamp_seconds(ms: u64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    let text = humantime::format_rfc3339_seconds(at).to_string();
    text.trim_end_matches('Z').replacen('T', " ", 1)
}

/// Bytes with a binary unit: `1.5 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The git and CI facts a record's tags carry (the CLI's tag scheme), for display as links.
#[derive(Default)]
pub struct Facts {
    pub branch: Option<String>,
    pub commit: Option<String>,
    pub short_commit: Option<String>,
    pub commit_url: Option<String>,
    pub repo_url: Option<String>,
    pub build_url: Option<String>,
    pub build: Option<String>,
    pub ci: Option<String>,
}

impl Facts {
    pub fn from_tags(tags: &[String]) -> Facts {
        let value = |key: &str| {
            tags.iter()
                .find_map(|t| t.strip_prefix(key).map(str::to_string))
        };
        let commit = value("git:");
        let repo_url = value("repo:").and_then(|r| web_url(&r));
        let commit_url = match (&repo_url, &commit) {
            (Some(repo), Some(sha)) => Some(format!("{repo}/commit/{sha}")),
            _ => None,
        };
        Facts {
            branch: value("branch:"),
            short_commit: value("git-short:")
                .or_else(|| commit.as_ref().map(|c| c.chars().take(8).collect())),
            commit,
            commit_url,
            repo_url,
            build_url: value("build-url:").filter(|u| is_http(u)),
            build: value("build:"),
            ci: value("ci:"),
        }
    }
}

fn is_http(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}

/// A browsable URL for a git remote: https remotes as they are (without `.git`), and
/// `git@host:path` remotes rewritten to https. Anything else gets no link.
fn web_url(remote: &str) -> Option<String> {
    let url = if is_http(remote) {
        remote.to_string()
    } else {
        let rest = remote.strip_prefix("git@")?;
        let (host, path) = rest.split_once(':')?;
        format!("https://{host}/{path}")
    };
    Some(
        url.trim_end_matches(".git")
            .trim_end_matches('/')
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_from_the_cli_tag_scheme() {
        let tags: Vec<String> = [
            "git:0123456789abcdef0123456789abcdef01234567",
            "branch:main",
            "repo:git@github.com:acme/fw.git",
            "build-url:https://ci.example/run/7",
            "build:7",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let facts = Facts::from_tags(&tags);
        assert_eq!(facts.branch.as_deref(), Some("main"));
        assert_eq!(facts.short_commit.as_deref(), Some("01234567"));
        assert_eq!(
            facts.commit_url.as_deref(),
            Some("https://github.com/acme/fw/commit/0123456789abcdef0123456789abcdef01234567")
        );
        assert_eq!(facts.build_url.as_deref(), Some("https://ci.example/run/7"));
        let hostile = Facts::from_tags(&["build-url:javascript:alert(1)".to_string()]);
        assert_eq!(hostile.build_url, None, "only http(s) links are rendered");
    }

    #[test]
    fn display_helpers() {
        assert_eq!(bytes(512), "512 bytes");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(timestamp(0), "1970-01-01 00:00 UTC");
        assert_eq!(timestamp(1_764_460_500_000), "2025-11-29 23:55 UTC");
    }
}

/// Entries a paged UI list shows at once.
pub const UI_PAGE_SIZE: u32 = fwrepo_schemas::DEFAULT_PAGE_SIZE;

/// Previous/next links of a paged list.
pub struct Pager {
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// Links around page `page` of a list of `total` entries; `url` builds a page's address.
    pub fn new(page: u32, total: u64, url: impl Fn(u32) -> String) -> Self {
        let pages = total.div_ceil(u64::from(UI_PAGE_SIZE));
        Pager {
            prev: (page > 0).then(|| url(page - 1)),
            next: (u64::from(page) + 1 < pages).then(|| url(page + 1)),
        }
    }
}

/// Page `page` (a query value; anything but a number is the first page) of a UI list.
pub fn ui_page(page: Option<&str>) -> crate::domain::PageRequest {
    crate::domain::PageRequest {
        page: page.and_then(|p| p.parse().ok()).unwrap_or(0),
        size: UI_PAGE_SIZE,
        ..Default::default()
    }
}
