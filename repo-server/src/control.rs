//! The control socket of a running server, `<data dir>/control/socket`: a Unix socket in a
//! directory only the server's user may enter. Operations on the whole server (an online
//! backup) arrive here and never over HTTP, where only a partner's credentials exist; who
//! may use it is whoever may read the data directory anyway. One JSON line each way.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use crate::service::backup::{BackupBlobs, Manifest};
use crate::service::Service;

/// Longest request line accepted.
const MAX_REQUEST_BYTES: u64 = 64 * 1024;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// Write a backup into this absolute path (see `Service::backup`).
    Backup { to: PathBuf },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Backup(Manifest),
    Error(String),
}

/// Where a data directory's control socket lives.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("control").join("socket")
}

/// Binds the control socket. Call only while holding the data directory (RocksDB's lock is
/// taken first), so a socket file found there is a dead server's and is replaced.
pub fn bind(data_dir: &Path) -> anyhow::Result<UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    let path = socket_path(data_dir);
    let dir = path.parent().expect("the socket is in a directory");
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Before the socket exists: nobody but the server's user ever reaches it.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
        _ => {}
    }
    UnixListener::bind(&path)
        .with_context(|| format!("cannot bind the control socket {}", path.display()))
}

/// Answers requests on `listener` until the task is dropped.
pub async fn serve(listener: UnixListener, service: Arc<Service>, blobs: Arc<BackupBlobs>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::warn!(%error, "control socket accept failed");
                continue;
            }
        };
        let (service, blobs) = (Arc::clone(&service), Arc::clone(&blobs));
        tokio::spawn(async move {
            if let Err(error) = answer(stream, &service, &blobs).await {
                tracing::warn!(error = %format!("{error:#}"), "control request failed");
            }
        });
    }
}

async fn answer(stream: UnixStream, service: &Service, blobs: &BackupBlobs) -> anyhow::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    BufReader::new(read.take(MAX_REQUEST_BYTES))
        .read_line(&mut line)
        .await?;
    let answer = match serde_json::from_str::<Request>(&line) {
        Err(error) => Answer::Error(format!("bad control request: {error}")),
        Ok(Request::Backup { to }) => {
            tracing::info!(target = %to.display(), "backup requested");
            match service.backup(&to, blobs).await {
                Ok(manifest) => Answer::Backup(manifest),
                Err(error) => {
                    tracing::error!(error = %error, "backup failed");
                    Answer::Error(error.to_string())
                }
            }
        }
    };
    let mut bytes = serde_json::to_vec(&answer)?;
    bytes.push(b'\n');
    write.write_all(&bytes).await?;
    Ok(())
}

/// Sends one request to the server running on `data_dir` and waits for its answer.
pub async fn request(data_dir: &Path, request: &Request) -> anyhow::Result<Answer> {
    let path = socket_path(data_dir);
    let stream = UnixStream::connect(&path).await.with_context(|| {
        format!(
            "cannot reach a server running on {} through {} (is it running? a stopped server's data directory can be copied as it is)",
            data_dir.display(),
            path.display()
        )
    })?;
    let (read, mut write) = stream.into_split();
    let mut bytes = serde_json::to_vec(request)?;
    bytes.push(b'\n');
    write.write_all(&bytes).await?;
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await?;
    anyhow::ensure!(
        !line.is_empty(),
        "the server closed the control socket without answering"
    );
    serde_json::from_str(&line).context("unreadable answer from the server")
}
