//! Background housekeeping: expired uploads release their blobs, unheld blobs are deleted
//! once their last upload is older than the grace period, expired tokens and sessions are
//! purged; at startup and then hourly, blobs with no record at all (a crash or a dropped
//! client between storing a blob and recording its hold) are deleted, and so is temporary
//! data of the store older than any upload in progress can be (a crashed process's).

use std::time::Duration;

use futures_util::StreamExt;

use super::{Service, ServiceResult};
use crate::meta::now_ms;

/// What one sweep did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub blobs_deleted: usize,
    pub tokens_purged: usize,
    pub sessions_purged: usize,
    pub orphan_files_deleted: usize,
    pub stale_temp_deleted: u64,
}

/// Most unheld blobs one step of a sweep reads off the index.
const SWEEP_BLOB_BATCH: usize = 1000;

/// Orphan files are looked for on the first sweep and then every this many sweeps: it walks
/// the whole blob directory, and orphans only come from crashes and dropped connections.
const ORPHAN_SWEEP_EVERY: u64 = 60;

impl Service {
    pub async fn sweep(&self) -> ServiceResult<SweepReport> {
        let now = now_ms();
        self.meta_call(move |m| m.sweep_expired_uploads(now))
            .await?;
        let cutoff_ms = now.saturating_sub(self.config.sweep_grace.as_millis() as u64);
        let mut report = SweepReport::default();
        // Unheld blobs past their grace come off an index a batch at a time; a batch in
        // which nothing could be forgotten ends the round (the next sweep retries).
        loop {
            let candidates = self
                .meta_call(move |m| m.unreferenced_blobs(cutoff_ms, SWEEP_BLOB_BATCH))
                .await?;
            let mut forgotten = 0;
            for sha in &candidates {
                forgotten += usize::from(self.sweep_blob(*sha, cutoff_ms, &mut report).await?);
            }
            if candidates.len() < SWEEP_BLOB_BATCH || forgotten == 0 {
                break;
            }
        }
        report.tokens_purged = self.meta_call(move |m| m.purge_expired_tokens(now)).await?;
        report.sessions_purged = self
            .meta_call(move |m| m.purge_expired_sessions(now))
            .await?;
        Ok(report)
    }

    /// Deletes one unheld blob and forgets its record, if under its lock it is still unheld
    /// and past the grace period; answers whether the record was forgotten.
    async fn sweep_blob(
        &self,
        sha: crate::domain::Sha256Digest,
        cutoff_ms: u64,
        report: &mut SweepReport,
    ) -> ServiceResult<bool> {
        let _deletes = self.blob_deletes.read().await;
        let _lifecycle = self.blob_lifecycle.lock(&sha).await;
        let still_unheld = self
            .meta_call(move |m| m.blob_record(&sha))
            .await?
            .is_some_and(|b| b.refcount == 0 && b.last_uploaded_ms() <= cutoff_ms);
        if !still_unheld {
            return Ok(false);
        }
        let deleted = self.blobs.delete(&sha).await?;
        let forgotten = self
            .meta_call(move |m| m.forget_unreferenced_blob(&sha))
            .await?;
        if forgotten {
            report.blobs_deleted += usize::from(deleted);
            tracing::info!(blob.sha256 = %sha, "deleted unreferenced blob");
        }
        Ok(forgotten)
    }

    /// Deletes stored blobs that have no blob record, reading the store's listing as it
    /// streams. No grace is needed: an upload makes its blob visible and records its hold
    /// under the blob's lock, so under that lock "no record" means none is coming.
    pub async fn sweep_orphan_files(&self) -> ServiceResult<usize> {
        let mut deleted = 0;
        let mut listing = self.blobs.list();
        while let Some(sha) = listing.next().await {
            let sha = sha?;
            if self.meta_read(|m| m.blob_record(&sha)).await?.is_some() {
                continue;
            }
            let _deletes = self.blob_deletes.read().await;
            let _lifecycle = self.blob_lifecycle.lock(&sha).await;
            if self.meta_read(|m| m.blob_record(&sha)).await?.is_none()
                && self.blobs.delete(&sha).await?
            {
                tracing::warn!(blob.sha256 = %sha, "deleted a blob no record knew (left by a crash)");
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    /// The store-wide part of a sweep, run rarely: blobs no record knows, and temporary
    /// data older than `stale_temp_age`.
    async fn sweep_store(
        &self,
        report: &mut SweepReport,
        stale_temp_age: Duration,
    ) -> ServiceResult<()> {
        report.orphan_files_deleted = self.sweep_orphan_files().await?;
        report.stale_temp_deleted = self.blobs.remove_stale_temp(stale_temp_age).await?;
        Ok(())
    }

    /// Runs [`Service::sweep`] every `interval` until the task is dropped; temporary data
    /// older than `stale_temp_age` belongs to no live upload and goes too.
    pub async fn run_sweeper(
        self: std::sync::Arc<Self>,
        interval: Duration,
        stale_temp_age: Duration,
    ) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        for round in 0u64.. {
            ticker.tick().await;
            let swept = self.sweep().await;
            let swept = match (swept, round % ORPHAN_SWEEP_EVERY == 0) {
                (Ok(mut report), true) => self
                    .sweep_store(&mut report, stale_temp_age)
                    .await
                    .map(|()| report),
                (other, _) => other,
            };
            match swept {
                Ok(report) if report != SweepReport::default() => {
                    tracing::info!(
                        blobs_deleted = report.blobs_deleted,
                        tokens_purged = report.tokens_purged,
                        sessions_purged = report.sessions_purged,
                        orphan_files_deleted = report.orphan_files_deleted,
                        stale_temp_deleted = report.stale_temp_deleted,
                        "sweep done"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "sweep failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::domain::SessionRecord;
    use crate::meta::MetaStore;
    use crate::service::ServiceConfig;
    use crate::store::{BlobStore, FsBlobStore};

    /// Issue 10 item 1: the orphan sweep has no grace period, yet never deletes an upload's
    /// blob: the upload holds the blob's lock from before the blob is visible until its hold
    /// commits. Sweeps run back to back while uploads finish; every blob stays.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn orphan_sweeps_never_take_an_upload_in_flight() {
        let dir = tempfile::tempdir().unwrap();
        let meta = Arc::new(MetaStore::open(&dir.path().join("meta"), false).unwrap());
        let blobs = Arc::new(FsBlobStore::open(dir.path().join("blobs")).unwrap());
        let service = Arc::new(Service::new(
            meta,
            blobs.clone(),
            ServiceConfig {
                public_url: "http://127.0.0.1:1".into(),
                pending_upload_ttl: Duration::from_secs(60),
                sweep_grace: Duration::ZERO,
                max_upload_bytes: 1024,
            },
        ));
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sweeper = tokio::spawn({
            let (service, done) = (Arc::clone(&service), Arc::clone(&done));
            async move {
                let mut sweeps = 0;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    assert_eq!(service.sweep_orphan_files().await.unwrap(), 0);
                    sweeps += 1;
                }
                sweeps
            }
        });
        for i in 0..200u32 {
            let bytes = bytes::Bytes::from(format!("upload {i}"));
            let mut upload = service.begin_upload(Default::default()).await.unwrap();
            upload.write(bytes.clone()).await.unwrap();
            let held = upload.finish("acme").await.unwrap();
            let stored = blobs.stat(&held.written.sha256).await.unwrap();
            assert_eq!(stored, Some(bytes.len() as u64), "upload {i} kept");
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(sweeper.await.unwrap() > 0, "the sweeps ran meanwhile");
    }

    #[tokio::test]
    async fn a_sweep_purges_expired_sessions_only() {
        let dir = tempfile::tempdir().unwrap();
        let meta = Arc::new(MetaStore::open(&dir.path().join("meta"), false).unwrap());
        let blobs = Arc::new(FsBlobStore::open(dir.path().join("blobs")).unwrap());
        let service = Service::new(
            Arc::clone(&meta),
            blobs,
            ServiceConfig {
                public_url: "http://127.0.0.1:1".into(),
                pending_upload_ttl: Duration::from_secs(60),
                sweep_grace: Duration::from_secs(60),
                max_upload_bytes: 1024,
            },
        );
        let session = |expires_ms| SessionRecord {
            username: "alice".into(),
            partner: "acme".into(),
            created_ms: 0,
            last_seen_ms: 0,
            expires_ms,
            absolute_expires_ms: expires_ms,
        };
        meta.create_session(&[1; 32], &session(1)).unwrap();
        meta.create_session(&[2; 32], &session(now_ms() + 60_000))
            .unwrap();
        let report = service.sweep().await.unwrap();
        assert_eq!(report.sessions_purged, 1);
        assert!(meta.session(&[1; 32]).unwrap().is_none());
        assert!(meta.session(&[2; 32]).unwrap().is_some());
    }
}
