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
        // another host (the object store's presigned URL). Every attempt, resumes included,
        // starts at the server again: a presigned URL is short-lived.
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;

    use crate::config::Connection;
    use crate::ops::http::Api;
    use crate::ops::progress::{Mode, Progress};

    /// One request as a server saw it: path and headers (names lowercase).
    type Seen = Arc<Mutex<Vec<(String, HashMap<String, String>)>>>;

    /// Reads one request's head (and drops its body); answers (path, headers).
    async fn read_request(
        socket: &mut BufReader<tokio::net::TcpStream>,
    ) -> (String, HashMap<String, String>) {
        let mut line = String::new();
        socket.read_line(&mut line).await.unwrap();
        let path = line.split(' ').nth(1).unwrap_or("").to_string();
        let mut headers = HashMap::new();
        loop {
            let mut header = String::new();
            socket.read_line(&mut header).await.unwrap();
            let Some((name, value)) = header.trim_end().split_once(':') else {
                break;
            };
            headers.insert(name.to_ascii_lowercase(), value.trim().to_string());
        }
        let length = headers
            .get("content-length")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        socket.read_exact(&mut body).await.unwrap();
        (path, headers)
    }

    /// Serves each connection with `answer(path, headers)`, recording what it saw.
    async fn serve<F>(answer: F) -> (String, Seen)
    where
        F: Fn(&str, &HashMap<String, String>, usize) -> Vec<u8> + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen: Seen = Arc::default();
        let record = Arc::clone(&seen);
        tokio::spawn(async move {
            loop {
                let (socket, _) = listener.accept().await.unwrap();
                let mut socket = BufReader::new(socket);
                let (path, headers) = read_request(&mut socket).await;
                let n = {
                    let mut seen = record.lock().unwrap();
                    seen.push((path.clone(), headers.clone()));
                    seen.len()
                };
                let out = answer(&path, &headers, n);
                socket.get_mut().write_all(&out).await.ok();
                socket.get_mut().shutdown().await.ok();
            }
        });
        (url, seen)
    }

    /// A server like fwrepo: a token for the credentials grant, and every other request
    /// redirected (`307`) to `location(n)`, n counting the requests.
    async fn redirecting_server<F>(location: F) -> (String, Seen)
    where
        F: Fn(usize) -> String + Send + Sync + 'static,
    {
        serve(move |path, _, n| {
            if path == "/oauth/token" {
                let token = r#"{"access_token":"tok","token_type":"Bearer","expires_in":3600,"scope":"ota:read"}"#;
                return format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{token}",
                    token.len()
                )
                .into_bytes();
            }
            format!(
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: {}\r\nContent-Length: 0\r\n\r\n",
                location(n)
            )
            .into_bytes()
        })
        .await
    }

    fn api(url: &str, retries: u32) -> Api {
        let conn = Connection {
            url: url.to_string(),
            partner: "acme".into(),
            client_id: "id".into(),
            client_secret: "secret".into(),
            retries,
        };
        let mut api = Api::new(conn, None).unwrap();
        api.base_delay = std::time::Duration::from_millis(10);
        api
    }

    /// Issue 10 item 3: the pull follows the server's 307 to the store, sends the store no
    /// bearer token (and no Referer), verifies the digest and, after a cut, resumes with
    /// `Range` through the server again (a fresh presigned URL).
    #[tokio::test]
    async fn redirected_downloads_drop_the_token_verify_and_resume() {
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        let half = bytes.len() / 2;
        let served = bytes.clone();
        let (store, store_seen) = serve(move |_, headers, n| {
            if headers.contains_key("authorization") {
                return b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".to_vec();
            }
            let from = headers
                .get("range")
                .and_then(|r| r.strip_prefix("bytes="))
                .and_then(|r| r.strip_suffix('-'))
                .map_or(0, |r| r.parse::<usize>().unwrap());
            let status = if from > 0 {
                "206 Partial Content"
            } else {
                "200 OK"
            };
            let mut out = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                served.len() - from
            )
            .into_bytes();
            // The first answer is cut halfway.
            let end = if n == 1 { half } else { served.len() };
            out.extend_from_slice(&served[from..end]);
            out
        })
        .await;
        let (server, server_seen) =
            redirecting_server(move |n| format!("{store}/sha256/blob?X-Amz-Signature=s{n}")).await;
        let api = api(&server, 3);
        let dir = tempfile::tempdir().unwrap();
        let part = dir.path().join("blob.part");
        let progress = Progress::start(Mode::Quiet, "pull", bytes.len() as u64);
        let url = format!("{server}/v1/ota/partners/acme/repository/sha256/{sha256}");
        let resumed = api
            .download(&url, &part, &sha256, bytes.len() as u64, &progress)
            .await
            .unwrap();
        assert_eq!(resumed, 0);
        assert_eq!(std::fs::read(&part).unwrap(), bytes);

        let server_seen = server_seen.lock().unwrap();
        let downloads: Vec<_> = server_seen
            .iter()
            .filter(|(p, _)| p.contains("/repository/"))
            .collect();
        assert_eq!(downloads.len(), 2, "the resume started at the server again");
        for (_, headers) in &downloads {
            assert_eq!(
                headers.get("authorization").map(String::as_str),
                Some("Bearer tok")
            );
        }
        assert_eq!(downloads[1].1.get("range"), Some(&format!("bytes={half}-")));
        let store_seen = store_seen.lock().unwrap();
        assert_eq!(store_seen.len(), 2);
        for (path, headers) in store_seen.iter() {
            assert!(
                !headers.contains_key("authorization"),
                "token sent to the store: {headers:?}"
            );
            assert!(!headers.contains_key("referer"), "{headers:?}");
            assert!(path.starts_with("/sha256/blob?X-Amz-Signature="));
        }
        assert_eq!(store_seen[0].0, "/sha256/blob?X-Amz-Signature=s2");
        assert_eq!(
            store_seen[1].1.get("range"),
            Some(&format!("bytes={half}-"))
        );
    }

    /// A store that serves other bytes than the record's digest fails the pull and leaves no
    /// part file.
    #[tokio::test]
    async fn redirected_downloads_are_verified() {
        let (store, _) =
            serve(|_, _, _| b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nwrong".to_vec()).await;
        let (server, _) = redirecting_server(move |_| format!("{store}/x")).await;
        let api = api(&server, 0);
        let dir = tempfile::tempdir().unwrap();
        let part = dir.path().join("blob.part");
        let progress = Progress::start(Mode::Quiet, "pull", 5);
        let right = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"right"));
        let error = api
            .download(&format!("{server}/blob"), &part, &right, 5, &progress)
            .await
            .unwrap_err();
        assert!(
            matches!(error, crate::error::Error::Verify { .. }),
            "{error}"
        );
        assert!(!part.exists());
    }
}
