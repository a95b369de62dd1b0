//! Online backup: a RocksDB checkpoint of the metadata and, for the filesystem store, the
//! blobs that checkpoint refers to. Blob deletes are paused from before the checkpoint until
//! the last of its blobs is in the backup, so no record of the backup lacks its blob.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Service;
use crate::meta::{now_ms, MetaError, MetaStore};
use crate::store::transfer::{link_or_copy, Transferred};
use crate::store::{FsBlobStore, StoreError};

/// Format of `manifest.json`; a restore refuses any other.
pub const MANIFEST_FORMAT: u32 = 1;
/// Written last: a directory without it is not a complete backup.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The checkpoint's directory inside a backup.
pub const META_DIR: &str = "meta";
/// The blobs' directory inside a backup of a filesystem store.
pub const BLOBS_DIR: &str = "blobs";

/// Blob records read off the checkpoint per step.
const PAGE: usize = 1000;

/// Where the blobs of the served store go in a backup.
pub enum BackupBlobs {
    /// Into the backup (hard links on one filesystem, verified copies otherwise).
    Fs(Arc<FsBlobStore>),
    /// Nowhere: they stay in this object store, which the manifest names.
    External(StoreRef),
}

/// The store a backup's records refer to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum StoreRef {
    /// The blobs are in the backup, under `blobs/`.
    Fs,
    /// The blobs are in this bucket.
    S3 {
        endpoint: String,
        bucket: String,
        region: String,
        /// Keys of the store start with it.
        prefix: String,
    },
}

/// `manifest.json` of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub server_version: String,
    pub created_ms: u64,
    pub store: StoreRef,
    /// Blob records in the checkpoint (held or awaiting the sweeper).
    pub blob_records: u64,
    /// Their bytes, as the records state them.
    pub blob_bytes: u64,
    pub blobs_linked: u64,
    pub blobs_copied: u64,
    /// Milliseconds blob deletes were paused for this backup.
    pub deletes_paused_ms: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("backup target {path}: {reason}")]
    Target { path: PathBuf, reason: String },
    #[error("a backup is already running")]
    Running,
    #[error("backup metadata: {0}")]
    Meta(#[from] MetaError),
    #[error("backup blob {sha256}: {source}")]
    Blob {
        sha256: crate::domain::Sha256Digest,
        source: StoreError,
    },
    #[error("backup I/O: {0}")]
    Io(#[from] std::io::Error),
}

impl Service {
    /// Writes a backup into `target`: an absolute path that does not exist (its parent
    /// does) or is an empty directory. One backup runs at a time.
    pub async fn backup(
        &self,
        target: &Path,
        blobs: &BackupBlobs,
    ) -> Result<Manifest, BackupError> {
        let _only = self
            .backup_running
            .try_lock()
            .map_err(|_| BackupError::Running)?;
        prepare_target(target)?;
        let started = std::time::Instant::now();
        let paused = self.blob_deletes.write().await;
        let checkpoint = target.join(META_DIR);
        blocking({
            let (meta, checkpoint) = (Arc::clone(&self.meta), checkpoint.clone());
            move || meta.checkpoint(&checkpoint)
        })
        .await?;
        let mut manifest = Manifest {
            format: MANIFEST_FORMAT,
            server_version: env!("CARGO_PKG_VERSION").to_string(),
            created_ms: now_ms(),
            store: StoreRef::Fs,
            blob_records: 0,
            blob_bytes: 0,
            blobs_linked: 0,
            blobs_copied: 0,
            deletes_paused_ms: 0,
        };
        let destination = match blobs {
            BackupBlobs::Fs(_) => Some(Arc::new(FsBlobStore::open(target.join(BLOBS_DIR))?)),
            BackupBlobs::External(store) => {
                // The checkpoint is consistent with the store at this instant; the store's
                // own retention decides from here on (see the README).
                manifest.store = store.clone();
                drop(paused);
                None
            }
        };
        let checkpoint = blocking(move || MetaStore::open_read_only(&checkpoint)).await?;
        let checkpoint = Arc::new(checkpoint);
        let mut after = None;
        loop {
            let page = blocking({
                let checkpoint = Arc::clone(&checkpoint);
                move || checkpoint.blob_records_after(after.as_ref(), PAGE)
            })
            .await?;
            for (sha256, record) in &page {
                manifest.blob_records += 1;
                manifest.blob_bytes += record.length;
                let (BackupBlobs::Fs(source), Some(destination)) = (blobs, &destination) else {
                    continue;
                };
                match link_or_copy(source, destination, sha256, record.length).await {
                    Ok(Transferred::Linked) => manifest.blobs_linked += 1,
                    Ok(_) => manifest.blobs_copied += 1,
                    Err(source) => {
                        return Err(BackupError::Blob {
                            sha256: *sha256,
                            source,
                        })
                    }
                }
            }
            match page.last() {
                Some((last, _)) if page.len() == PAGE => after = Some(*last),
                _ => break,
            }
        }
        manifest.deletes_paused_ms = started.elapsed().as_millis() as u64;
        drop(checkpoint);
        let written = manifest.clone();
        let target = target.to_path_buf();
        blocking(move || write_manifest(&target, &written)).await?;
        tracing::info!(
            blob_records = manifest.blob_records,
            blobs_linked = manifest.blobs_linked,
            blobs_copied = manifest.blobs_copied,
            deletes_paused_ms = manifest.deletes_paused_ms,
            "backup written"
        );
        Ok(manifest)
    }
}

/// Runs blocking file or RocksDB work off the runtime.
async fn blocking<T: Send + 'static, E: Send + 'static>(
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, BackupError>
where
    BackupError: From<E>,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| BackupError::Io(std::io::Error::other(e.to_string())))?
        .map_err(BackupError::from)
}

/// Refuses a relative path, a file, a non-empty directory or a missing parent; creates the
/// directory when it does not exist.
fn prepare_target(target: &Path) -> Result<(), BackupError> {
    let refuse = |reason: String| BackupError::Target {
        path: target.to_path_buf(),
        reason,
    };
    if !target.is_absolute() {
        return Err(refuse("must be an absolute path".into()));
    }
    match empty_dir(target) {
        Ok(Some(true)) => Ok(()),
        Ok(Some(false)) => Err(refuse("exists and is not empty".into())),
        Ok(None) => std::fs::create_dir(target).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => refuse("its parent directory does not exist".into()),
            _ => refuse(format!("cannot create it: {e}")),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            Err(refuse("is a file, not a directory".into()))
        }
        Err(e) => Err(refuse(format!("cannot read it: {e}"))),
    }
}

/// Whether `dir` is an empty directory; `None` when it does not exist.
pub fn empty_dir(dir: &Path) -> std::io::Result<Option<bool>> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(Some(entries.next().is_none())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes the manifest durably: the file, its directory entry, and the backup's own entry.
fn write_manifest(target: &Path, manifest: &Manifest) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(target.join(MANIFEST_FILE))?;
    file.write_all(&serde_json::to_vec_pretty(manifest).map_err(std::io::Error::other)?)?;
    file.sync_all()?;
    std::fs::File::open(target)?.sync_all()?;
    match target.parent() {
        Some(parent) => std::fs::File::open(parent)?.sync_all(),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::service::ServiceConfig;
    use crate::store::BlobStore;

    fn service(dir: &Path, grace: Duration) -> (Arc<Service>, Arc<FsBlobStore>) {
        let meta = Arc::new(MetaStore::open(&dir.join("meta"), false).unwrap());
        let blobs = Arc::new(FsBlobStore::open(dir.join("blobs")).unwrap());
        let service = Service::new(
            meta,
            blobs.clone(),
            ServiceConfig {
                public_url: "http://127.0.0.1:1".into(),
                pending_upload_ttl: Duration::ZERO,
                sweep_grace: grace,
                max_upload_bytes: 1024,
            },
        );
        (Arc::new(service), blobs)
    }

    async fn upload(service: &Service, bytes: &'static [u8]) -> crate::domain::Sha256Digest {
        let mut upload = service.begin_upload(Default::default()).await.unwrap();
        upload
            .write(bytes::Bytes::from_static(bytes))
            .await
            .unwrap();
        upload.finish("acme").await.unwrap().written.sha256
    }

    /// While blob deletes are paused (as a backup pauses them), a sweep deletes nothing,
    /// even a blob due for deletion; it does once the pause ends.
    #[tokio::test]
    async fn a_sweep_waits_while_deletes_are_paused() {
        let dir = tempfile::tempdir().unwrap();
        let (service, blobs) = service(dir.path(), Duration::ZERO);
        let sha = upload(&service, b"expires at once").await;
        let paused = service.blob_deletes.write().await;
        let sweep = tokio::spawn({
            let service = Arc::clone(&service);
            async move { service.sweep().await.unwrap() }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            blobs.stat(&sha).await.unwrap().is_some(),
            "kept while paused"
        );
        assert!(!sweep.is_finished());
        drop(paused);
        assert_eq!(sweep.await.unwrap().blobs_deleted, 1);
        assert!(blobs.stat(&sha).await.unwrap().is_none());
    }

    /// A backup holds the checkpoint's records and their blobs (linked on one filesystem);
    /// its target must be absolute and empty; one backup runs at a time.
    #[tokio::test]
    async fn a_backup_carries_the_checkpoints_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let (service, blobs) = service(dir.path(), Duration::from_secs(3600));
        let sha = upload(&service, b"backed up").await;
        let target = dir.path().join("backup");
        let manifest = service
            .backup(&target, &BackupBlobs::Fs(blobs.clone()))
            .await
            .unwrap();
        assert_eq!((manifest.blob_records, manifest.blobs_linked), (1, 1));
        assert_eq!(manifest.store, StoreRef::Fs);
        let copy = FsBlobStore::inspect(target.join(BLOBS_DIR));
        assert_eq!(copy.stat(&sha).await.unwrap(), Some(9));
        let written: Manifest =
            serde_json::from_slice(&std::fs::read(target.join(MANIFEST_FILE)).unwrap()).unwrap();
        assert_eq!(written, manifest);

        for bad in [
            target.clone(),
            PathBuf::from("relative"),
            dir.path().join("no/such"),
        ] {
            let refused = service.backup(&bad, &BackupBlobs::Fs(blobs.clone())).await;
            assert!(
                matches!(refused, Err(BackupError::Target { .. })),
                "{bad:?}"
            );
        }
        let _running = service.backup_running.try_lock().unwrap();
        let refused = service
            .backup(&dir.path().join("second"), &BackupBlobs::Fs(blobs))
            .await;
        assert!(matches!(refused, Err(BackupError::Running)));
    }
}
