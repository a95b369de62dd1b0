//! Downloads: streamed to a part file, resumed with `Range` from its length, verified
//! against the expected SHA-256 (a mismatch deletes the part file).

use std::path::Path;

use futures_util::StreamExt;
use reqwest::{header, StatusCode};
use tokio::io::AsyncWriteExt;

use super::problem::describe_reqwest;
use super::{error_from, Api};
use crate::error::{Error, Result};
use crate::ops::progress::Progress;

impl Api {
    /// Downloads `url` into `part`, resuming from its current length with `Range`, and checks
    /// the result against `sha256`. A mismatch deletes the part file. Answers the byte offset
    /// the download resumed from.
    pub async fn download(
        &self,
        url: &str,
        part: &Path,
        sha256: &str,
        len: u64,
        progress: &Progress,
    ) -> Result<u64> {
        // Record URLs are the server's own (it validates them on create), so they get the token
        // even when FWREPO_URL names the server differently; reqwest drops it on a redirect to
        // another host (an object store).
        let send_token = url.starts_with("http://") || url.starts_with("https://");
        let mut resumed_from = None;
        let mut attempt = 0u32;
        loop {
            let offset = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
            if offset > len {
                std::fs::remove_file(part).map_err(|e| Error::io(part, e))?;
                continue;
            }
            resumed_from.get_or_insert(offset);
            if offset == len && len > 0 {
                break;
            }
            let make = || {
                let mut request = self.http.get(url);
                if offset > 0 {
                    request = request.header(header::RANGE, format!("bytes={offset}-"));
                }
                Ok(request)
            };
            let response = if send_token {
                self.authed("download", make).await?
            } else {
                self.retrying("download", None, |_| make()).await?
            };
            let status = response.status();
            let append = match status {
                StatusCode::PARTIAL_CONTENT => true,
                StatusCode::OK => false,
                StatusCode::RANGE_NOT_SATISFIABLE => {
                    std::fs::remove_file(part).map_err(|e| Error::io(part, e))?;
                    continue;
                }
                _ => return Err(error_from(response, "download").await),
            };
            if !append {
                resumed_from = Some(0);
            } else if offset > 0 && attempt == 0 {
                progress.note(&format!("resuming download at byte {offset} of {len}"));
            }
            let mut file = tokio::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .append(append)
                .truncate(!append)
                .open(part)
                .await
                .map_err(|e| Error::io(part, e))?;
            progress.set_position(if append { offset } else { 0 });
            let mut stream = response.bytes_stream();
            let mut failed = None;
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(bytes) => {
                        file.write_all(&bytes)
                            .await
                            .map_err(|e| Error::io(part, e))?;
                        progress.inc(bytes.len() as u64);
                    }
                    Err(e) => {
                        failed = Some(describe_reqwest(&e));
                        break;
                    }
                }
            }
            file.flush().await.map_err(|e| Error::io(part, e))?;
            file.sync_all().await.map_err(|e| Error::io(part, e))?;
            drop(file);
            match failed {
                None => break,
                Some(e) if attempt < self.conn.retries => {
                    let wait = self.backoff(attempt);
                    progress.note(&format!(
                        "download interrupted ({e}), resuming in {:.1} s",
                        wait.as_secs_f64()
                    ));
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Some(e) => return Err(Error::Network(format!("download: {e}"))),
            }
        }
        let (actual, _) = crate::ops::digest::sha256_file(part)?;
        if actual != sha256 {
            let _ = std::fs::remove_file(part);
            return Err(Error::Verify {
                what: format!("download of {url}"),
                expected: sha256.into(),
                actual,
            });
        }
        Ok(resumed_from.unwrap_or(0))
    }
}
