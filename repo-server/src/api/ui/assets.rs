//! The UI's static files, compiled into the binary and served under `/ui/assets/` with a
//! content hash in their URL, so browsers cache them for a year and never see a stale one.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::error::UiError;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

/// htmx 2.0.11 (npm `htmx.org@2.0.11`, `dist/htmx.min.js`, licence in `htmx.LICENSE`).
const ASSETS: &[Asset] = &[
    Asset {
        name: "htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../../assets/htmx.min.js"),
    },
    Asset {
        name: "htmx.LICENSE",
        content_type: "text/plain; charset=utf-8",
        bytes: include_bytes!("../../../assets/htmx.LICENSE"),
    },
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../../assets/app.css"),
    },
    Asset {
        name: "upload.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../../assets/upload.js"),
    },
    Asset {
        name: "copy.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../../assets/copy.js"),
    },
];

/// The first 16 hex digits of each asset's SHA-256, in `ASSETS` order.
static HASHES: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| hex::encode(&Sha256::digest(a.bytes)[..8]))
        .collect()
});

fn url(name: &str) -> String {
    let index = ASSETS
        .iter()
        .position(|a| a.name == name)
        .expect("templates name only compiled-in assets");
    format!("/ui/assets/{name}?v={}", HASHES[index])
}

/// Asset URLs for the templates.
#[derive(Clone, Copy)]
pub struct AssetUrls;

impl AssetUrls {
    pub fn css(&self) -> String {
        url("app.css")
    }
    pub fn htmx(&self) -> String {
        url("htmx.min.js")
    }
    pub fn upload(&self) -> String {
        url("upload.js")
    }
    pub fn copy(&self) -> String {
        url("copy.js")
    }
}

pub async fn serve(Path(name): Path<String>, headers: HeaderMap) -> Result<Response, UiError> {
    let Some(index) = ASSETS.iter().position(|a| a.name == name) else {
        return Err(UiError::NotFound(format!(
            "There is no asset named {name}."
        )));
    };
    let asset = &ASSETS[index];
    let etag = format!("\"{}\"", HASHES[index]);
    let cache = [
        (header::ETAG, etag.clone()),
        (
            header::CACHE_CONTROL,
            "public, max-age=31536000, immutable".to_string(),
        ),
    ];
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    let mut response = (cache, asset.bytes).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    Ok(response)
}
