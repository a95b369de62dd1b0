//! Binary uploads: bytes stream through the size limit into the shared ingest path (hashed on
//! the way), then a pending hold is recorded for the partner; moveToRepository turns the hold
//! into a repository entry.

use std::ops::Range;

use bytes::Bytes;

use super::{Service, ServiceError, ServiceResult};
use crate::domain::Sha256Digest;
use crate::meta::blobs::MoveOutcome;
use crate::meta::now_ms;
use crate::store::{BlobReader, BlobWritten, Expected, Ingest, StoreError};

/// An upload in progress. Dropping it discards the bytes.
pub struct Upload<'a> {
    service: &'a Service,
    ingest: Ingest,
}

impl Upload<'_> {
    pub async fn write(&mut self, chunk: Bytes) -> ServiceResult<()> {
        let limit = self.service.config.max_upload_bytes;
        if self.ingest.written() + chunk.len() as u64 > limit {
            return Err(ServiceError::TooLarge { limit });
        }
        Ok(self.ingest.write(chunk).await?)
    }

    /// Discards the upload; returns once nothing of it remains on storage.
    pub async fn abort(self) {
        self.ingest.abort().await;
    }

    /// Checks what the client stated, makes the blob visible and holds it for the partner.
    /// The blob's lock is held from before it becomes visible until the hold commits, so a
    /// sweep never sees it unheld (nor deletes the copy this upload found in place).
    pub async fn finish(self, partner: &str) -> ServiceResult<HeldUpload> {
        let sealed = self.ingest.seal().await?;
        let service = self.service;
        let _lifecycle = service.blob_lifecycle.lock(&sealed.sha256()).await;
        let written = sealed.commit().await?;
        let expires_ms =
            now_ms().saturating_add(service.config.pending_upload_ttl.as_millis() as u64);
        let (owner, sha, length, blake3) = (
            partner.to_string(),
            written.sha256,
            written.length,
            written.blake3.clone(),
        );
        let new_hold = service
            .meta_write(move |m| m.add_pending(&owner, &sha, length, &blake3, now_ms(), expires_ms))
            .await?;
        Ok(HeldUpload { written, new_hold })
    }
}

/// A stored upload and the partner's pending hold on it.
pub struct HeldUpload {
    pub written: BlobWritten,
    /// This upload made the hold (rather than refreshing one an earlier upload of the same
    /// bytes made, which is that upload's to release).
    pub new_hold: bool,
}

/// How blob downloads are answered once the caller is authorised: proxied through this
/// server (with Range), or sent to the store itself by a presigned URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloads {
    /// Answer `307` to a presigned URL when the store issues one.
    pub redirect: bool,
    /// Smaller blobs are proxied: a redirect costs the client a second connection.
    pub redirect_min_bytes: u64,
    /// How long a presigned URL stays valid.
    pub presign_ttl: std::time::Duration,
}

impl Default for Downloads {
    fn default() -> Self {
        Downloads {
            redirect: false,
            redirect_min_bytes: 1024 * 1024,
            presign_ttl: std::time::Duration::from_secs(300),
        }
    }
}

/// Bytes a partner holds through the binaries API (its repository entry or pending upload),
/// found by digest. Another partner's bytes are never "known" to it.
#[derive(Debug, Clone)]
pub struct KnownBinary {
    pub sha256: Sha256Digest,
    pub length: u64,
    pub blake3: String,
    pub in_repository: bool,
}

impl Service {
    /// The partner's binary with these bytes, when it holds one and the stored blob is whole
    /// (a damaged blob is not "known": a full upload repairs it).
    pub async fn known_binary(
        &self,
        partner: &str,
        sha256: Sha256Digest,
    ) -> ServiceResult<Option<KnownBinary>> {
        let owner = partner.to_string();
        let held = self
            .meta_read(move |m| {
                let in_repository = m.repository_entry(&owner, &sha256)?.is_some();
                if !in_repository && m.pending_upload(&owner, &sha256)?.is_none() {
                    return Ok(None);
                }
                Ok(m.blob_record(&sha256)?.map(|blob| (blob, in_repository)))
            })
            .await?;
        let Some((blob, in_repository)) = held else {
            return Ok(None);
        };
        if self.blobs.stat(&sha256).await? != Some(blob.length) {
            return Ok(None);
        }
        Ok(Some(KnownBinary {
            sha256,
            length: blob.length,
            blake3: blob.blake3,
            in_repository,
        }))
    }

    /// Checksum-first upload: when the client stated the digest of bytes the partner already
    /// holds, records the hold a full upload of them would (pending upload, last upload time)
    /// without reading a body. `None`: the body must be read.
    pub async fn reupload_known(
        &self,
        partner: &str,
        stated: Expected,
    ) -> ServiceResult<Option<HeldUpload>> {
        let Some(sha256) = stated.sha256 else {
            return Ok(None);
        };
        // Ordered against the sweeper's delete of this digest, as `Upload::finish` is.
        let _lifecycle = self.blob_lifecycle.lock(&sha256).await;
        let Some(known) = self.known_binary(partner, sha256).await? else {
            return Ok(None);
        };
        let fits = known.length <= self.config.max_upload_bytes
            && stated.length.is_none_or(|length| length == known.length);
        if !fits {
            // A full upload decides (413, or a size mismatch).
            return Ok(None);
        }
        let expires_ms = now_ms().saturating_add(self.config.pending_upload_ttl.as_millis() as u64);
        let (owner, length, blake3) = (partner.to_string(), known.length, known.blake3.clone());
        let new_hold = self
            .meta_write(move |m| {
                m.add_pending(&owner, &sha256, length, &blake3, now_ms(), expires_ms)
            })
            .await?;
        let written = BlobWritten {
            sha256,
            blake3: known.blake3,
            length: known.length,
            created: false,
        };
        Ok(Some(HeldUpload { written, new_hold }))
    }

    /// Drops a partner's pending hold on a blob (the sweeper deletes the blob once unheld).
    pub async fn release_pending(&self, partner: &str, sha256: Sha256Digest) -> ServiceResult<()> {
        let owner = partner.to_string();
        self.meta_write(move |m| m.remove_pending(&owner, &sha256))
            .await
    }

    /// Starts an upload; `expected` is what the client stated about the body.
    pub async fn begin_upload(&self, expected: Expected) -> ServiceResult<Upload<'_>> {
        Ok(Upload {
            service: self,
            ingest: Ingest::begin(&*self.blobs, expected).await?,
        })
    }

    /// Moves an upload into the partner's repository (a no-op when it is there already).
    pub async fn move_to_repository(
        &self,
        partner: &str,
        sha256: Sha256Digest,
    ) -> ServiceResult<()> {
        let owner = partner.to_string();
        let outcome = self
            .meta_write(move |m| m.move_to_repository(&owner, &sha256, now_ms()))
            .await;
        match outcome {
            Ok(MoveOutcome::Moved | MoveOutcome::AlreadyInRepository) => Ok(()),
            Err(ServiceError::NotFound(_)) => {
                Err(ServiceError::NotFound("upload (it may have expired)"))
            }
            Err(other) => Err(other),
        }
    }

    /// Opens (part of) a stored blob whose record says it has `length` bytes. Callers resolve
    /// the record that grants access first (a repository entry, a collection image). The
    /// file itself must agree: a missing or resized blob is corruption, logged and counted,
    /// never served as a cut-off or empty success.
    pub async fn open_blob(
        &self,
        sha256: Sha256Digest,
        length: u64,
        range: Option<Range<u64>>,
    ) -> ServiceResult<BlobReader> {
        let damage = match self.blobs.open(&sha256, range).await {
            Ok(blob) if blob.total_length == length => return Ok(blob),
            Ok(blob) => format!(
                "blob {sha256} has {} bytes on storage, its record says {length}",
                blob.total_length
            ),
            Err(StoreError::NotFound(_)) => {
                format!("blob {sha256} is missing from storage, its record says {length} bytes")
            }
            Err(other) => return Err(other.into()),
        };
        metrics::counter!("fwrepo_blob_damaged_total").increment(1);
        tracing::error!(blob.sha256 = %sha256, "{damage}; run fwrepo-server fsck");
        Err(ServiceError::Internal(damage.into()))
    }

    /// Where the caller may GET a blob straight from the store instead of through this
    /// server: a presigned URL, when the policy redirects, the blob is large enough and the
    /// backend issues one. The caller must have authorised the request already.
    pub async fn direct_download_url(
        &self,
        sha256: Sha256Digest,
        length: u64,
    ) -> ServiceResult<Option<String>> {
        let policy = &self.downloads;
        if !policy.redirect || length < policy.redirect_min_bytes {
            return Ok(None);
        }
        Ok(self.blobs.presign(&sha256, policy.presign_ttl).await?)
    }

    /// The repository entry of a blob (for HEAD and range validation).
    pub async fn repository_entry(
        &self,
        partner: &str,
        sha256: Sha256Digest,
    ) -> ServiceResult<crate::domain::RepositoryEntry> {
        let owner = partner.to_string();
        self.meta_read(move |m| m.repository_entry(&owner, &sha256))
            .await?
            .ok_or(ServiceError::NotFound("binary"))
    }
}
