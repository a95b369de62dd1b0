//! Typed calls: firmware types, binaries (lookup by digest, streamed upload, move to the
//! repository) and pool records (create, one page, every page).

use std::path::Path;

use futures_util::StreamExt;
use fwrepo_schemas::{
    BinaryStatus, FirmwareType, FirmwareTypeCreate, Page, PoolRecord, PoolRecordCreate, StringValue,
};
use reqwest::{header, StatusCode};

use super::problem::{problem_error, read_problem};
use super::{error_from, Api, Created, PoolQuery};
use crate::error::{Error, Result};
use crate::ops::progress::Progress;

impl Api {
    pub async fn get_type(&self, fw_type: i64) -> Result<Option<FirmwareType>> {
        let url = self.partner_url(&format!("types/{fw_type}"));
        let response = self
            .authed("get firmware type", || Ok(self.http.get(&url)))
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Self::json_ok(response, "get firmware type").await.map(Some)
    }

    /// Creates a firmware type; an existing one (409) is fine.
    pub async fn create_type(&self, body: &FirmwareTypeCreate) -> Result<()> {
        let url = self.partner_url("types");
        let response = self
            .authed("create firmware type", || {
                Ok(self.http.post(&url).json(body))
            })
            .await?;
        if response.status().is_success() || response.status() == StatusCode::CONFLICT {
            Ok(())
        } else {
            Err(error_from(response, "create firmware type").await)
        }
    }

    /// Streams a file to `POST binaries` declaring its digest; answers the server's SHA-256.
    pub async fn upload(
        &self,
        path: &Path,
        sha256: &str,
        len: u64,
        progress: &Progress,
    ) -> Result<String> {
        let url = self.partner_url("binaries");
        let response = self
            .authed("upload", || {
                let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
                progress.set_position(0);
                let counter = progress.counter();
                let stream = tokio_util::io::ReaderStream::with_capacity(
                    tokio::fs::File::from_std(file),
                    64 * 1024,
                )
                .inspect(move |chunk| {
                    if let (Ok(bytes), Some(bar)) = (chunk, &counter) {
                        bar.inc(bytes.len() as u64)
                    }
                });
                Ok(self
                    .http
                    .post(&url)
                    .header(header::CONTENT_TYPE, "application/octet-stream")
                    .header(header::CONTENT_LENGTH, len)
                    .header("X-Checksum-Sha256", sha256)
                    .body(reqwest::Body::wrap_stream(stream)))
            })
            .await?;
        let answer: StringValue = Self::json_ok(response, "upload").await?;
        if answer.value != sha256 {
            return Err(Error::Verify {
                what: "upload".into(),
                expected: sha256.into(),
                actual: answer.value,
            });
        }
        Ok(answer.value)
    }

    /// Whether the partner holds these bytes already (`GET binaries/sha256/{hex}`): `None`
    /// when not, or when the server cannot say (an older server, a client without read scope).
    pub async fn binary_status(&self, sha256: &str) -> Result<Option<BinaryStatus>> {
        let url = self.partner_url(&format!("binaries/sha256/{sha256}"));
        let response = self
            .authed("look up binary", || Ok(self.http.get(&url)))
            .await?;
        match response.status() {
            StatusCode::NOT_FOUND | StatusCode::FORBIDDEN | StatusCode::METHOD_NOT_ALLOWED => {
                Ok(None)
            }
            _ => Self::json_ok(response, "look up binary").await.map(Some),
        }
    }

    pub async fn move_to_repository(&self, sha256: &str) -> Result<String> {
        let url = self.partner_url("binaries/moveToRepository");
        let body = StringValue {
            value: sha256.to_string(),
        };
        let response = self
            .authed("moveToRepository", || Ok(self.http.post(&url).json(&body)))
            .await?;
        Ok(Self::json_ok::<StringValue>(response, "moveToRepository")
            .await?
            .value)
    }

    pub async fn create_pool(&self, body: &PoolRecordCreate) -> Result<Created> {
        let url = self.partner_url("pool");
        let response = self
            .authed("create pool record", || Ok(self.http.post(&url).json(body)))
            .await?;
        if response.status() == StatusCode::CONFLICT {
            // Only a duplicate (type, name, version) is "exists already"; another conflict
            // (e.g. a protected tag on an unsigned binary) is the refusal it is.
            let problem = read_problem(response).await;
            if problem.kind.ends_with("/already-exists") {
                return Ok(Created::AlreadyExists(problem));
            }
            return Err(problem_error(
                StatusCode::CONFLICT,
                problem,
                "create pool record",
            ));
        }
        Self::json_ok(response, "create pool record")
            .await
            .map(Created::New)
    }

    /// One page of pool records.
    pub async fn pool_page(
        &self,
        query: &PoolQuery,
        page: u32,
        size: u32,
    ) -> Result<Page<PoolRecord>> {
        let url = match query.fw_type {
            Some(t) => self.partner_url(&format!("pool/types/{t}")),
            None => self.partner_url("pool"),
        };
        let mut params: Vec<(&str, String)> =
            vec![("page", page.to_string()), ("size", size.to_string())];
        if !query.tags.is_empty() {
            params.push(("tags", query.tags.join(",")));
        }
        for (key, value) in [
            ("name", &query.name),
            ("version", &query.version),
            ("versionReq", &query.version_req),
            ("commit", &query.commit),
            ("sort", &query.sort),
        ] {
            if let Some(v) = value {
                params.push((key, v.clone()));
            }
        }
        if query.latest {
            params.push(("latest", "true".into()));
        }
        let response = self
            .authed("list pool", || Ok(self.http.get(&url).query(&params)))
            .await?;
        Self::json_ok(response, "list pool").await
    }

    /// Every record matching `query`, up to `limit`, paging through the server's pages.
    pub async fn pool_all(
        &self,
        query: &PoolQuery,
        page_size: u32,
        limit: Option<usize>,
    ) -> Result<Vec<PoolRecord>> {
        let mut out = Vec::new();
        let mut page = 0;
        loop {
            let answer = self.pool_page(query, page, page_size).await?;
            let last = answer.content.is_empty() || u64::from(page) + 1 >= answer.total_pages;
            out.extend(answer.content);
            if let Some(limit) = limit {
                if out.len() >= limit {
                    out.truncate(limit);
                    return Ok(out);
                }
            }
            if last {
                return Ok(out);
            }
            page += 1;
        }
    }
}
