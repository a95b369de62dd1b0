//! Background housekeeping: expired uploads release their blobs, unheld blobs are deleted
//! after the grace period, expired tokens are purged.

use std::time::{Duration, SystemTime};

use super::{Service, ServiceResult};
use crate::meta::now_ms;

/// What one sweep did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub blobs_deleted: usize,
    pub tokens_purged: usize,
}

impl Service {
    pub async fn sweep(&self) -> ServiceResult<SweepReport> {
        let now = now_ms();
        self.meta_call(move |m| m.sweep_expired_uploads(now))
            .await?;
        let candidates = self.meta_call(|m| m.unreferenced_blobs()).await?;
        let cutoff = SystemTime::now()
            .checked_sub(self.config.sweep_grace)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let mut report = SweepReport::default();
        for sha in candidates {
            let _lifecycle = self.blob_lifecycle.lock().await;
            let still_unheld = self
                .meta_call(move |m| m.blob_record(&sha))
                .await?
                .is_some_and(|b| b.refcount == 0);
            if !still_unheld {
                continue;
            }
            let deleted = self.blobs.delete(&sha, cutoff).await?;
            let gone = deleted || self.blobs.stat(&sha).await?.is_none();
            if gone
                && self
                    .meta_call(move |m| m.forget_unreferenced_blob(&sha))
                    .await?
            {
                report.blobs_deleted += usize::from(deleted);
                tracing::info!(blob.sha256 = %sha, "deleted unreferenced blob");
            }
        }
        report.tokens_purged = self.meta_call(move |m| m.purge_expired_tokens(now)).await?;
        Ok(report)
    }

    /// Runs [`Service::sweep`] every `interval` until the task is dropped.
    pub async fn run_sweeper(self: std::sync::Arc<Self>, interval: Duration) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match self.sweep().await {
                Ok(report) if report != SweepReport::default() => {
                    tracing::info!(
                        blobs_deleted = report.blobs_deleted,
                        tokens_purged = report.tokens_purged,
                        "sweep done"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "sweep failed"),
            }
        }
    }
}
