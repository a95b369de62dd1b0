//! Operations of the repository, composed from the metadata and blob layers: what each API
//! call does, without HTTP. Metadata calls run on the blocking pool (RocksDB commits fsync).

pub mod audit;
pub mod backup;
pub mod binaries;
pub mod blob_locks;
pub mod browse;
pub mod checkin;
pub mod collections;
pub mod ddi;
pub mod devices;
pub mod images;
pub mod pool;
pub mod retention;
pub mod sweep;
pub mod trust;
pub mod types;

use std::sync::Arc;
use std::time::Duration;

use crate::domain::{ConflictKind, DomainError};
use crate::meta::{MetaError, MetaStore};
use crate::store::{BlobStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Invalid(#[from] DomainError),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A record with that identity exists already.
    #[error("{0}")]
    Conflict(String),
    /// The request contradicts the current state in another way (see [`ConflictKind`]).
    #[error("{1}")]
    StateConflict(ConflictKind, String),
    /// A delete refused: what uses the record.
    #[error("{}", .0.summary("the record"))]
    InUse(Box<crate::domain::usage::InUse>),
    #[error("{0}")]
    DigestMismatch(String),
    /// A signature, key or provenance statement that is malformed.
    #[error(transparent)]
    Trust(#[from] crate::domain::trust::TrustError),
    /// A signature by a trusted key that does not verify.
    #[error("{0}")]
    SignatureMismatch(String),
    #[error("the body exceeds the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("{0}")]
    Unavailable(String),
    /// The blob store cannot serve now; the same request may succeed after `retry_after`.
    #[error("the blob store is unavailable")]
    StoreUnavailable {
        retry_after: Duration,
        #[source]
        source: StoreError,
    },
    /// A fault of the server; the cause chain is kept for the log (never for the client).
    #[error("internal error: {0}")]
    Internal(#[source] BoxError),
}

/// The cause of an internal error, with its own chain of sources.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl From<MetaError> for ServiceError {
    fn from(error: MetaError) -> Self {
        match error {
            MetaError::NotFound(what) => ServiceError::NotFound(what),
            MetaError::Conflict(detail) => ServiceError::Conflict(detail),
            MetaError::StateConflict(kind, detail) => ServiceError::StateConflict(kind, detail),
            MetaError::Invalid(detail) => ServiceError::Invalid(DomainError::InvalidPaging(detail)),
            MetaError::InUse(uses) => ServiceError::InUse(uses),
            other => ServiceError::Internal(Box::new(other)),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        match error {
            // A body that is not what the client stated (digest or size): nothing was kept.
            StoreError::DigestMismatch { .. } | StoreError::SizeMismatch { .. } => {
                ServiceError::DigestMismatch(error.to_string())
            }
            StoreError::Unavailable { retry_after, .. } => ServiceError::StoreUnavailable {
                retry_after,
                source: error,
            },
            other => ServiceError::Internal(Box::new(other)),
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// `spawn_blocking` that carries the request's audit entry to the thread: the metadata
/// commits made there are logged with the request's actor (`meta::audit`).
pub use crate::meta::audit::{spawn_blocking, AuditScope};

/// Tunables of the service layer (from the server configuration).
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Base URL clients reach this server at; repository URLs start with it.
    pub public_url: String,
    /// How long an upload waits to be moved to the repository before it is swept.
    pub pending_upload_ttl: Duration,
    /// A blob re-uploaded within this window is never deleted by a sweep.
    pub sweep_grace: Duration,
    /// Largest binary accepted.
    pub max_upload_bytes: u64,
}

pub struct Service {
    meta: Arc<MetaStore>,
    blobs: Arc<dyn BlobStore>,
    config: ServiceConfig,
    /// Orders "add a hold on a blob" against "delete an unheld blob", per digest.
    blob_lifecycle: blob_locks::BlobLocks,
    downloads: binaries::Downloads,
    /// The sweeper deletes blobs under a read guard; a backup holds the write guard from
    /// before its checkpoint until its last blob is copied, so none it refers to vanishes.
    blob_deletes: tokio::sync::RwLock<()>,
    /// Held by the one backup that may run.
    backup_running: tokio::sync::Mutex<()>,
    /// Held by the one retention run that may run (manual or scheduled).
    retention_running: tokio::sync::Mutex<()>,
    /// Runs the metadata writes of requests ([`Service::meta_write`]).
    writer: crate::meta::WriterThread,
}

impl Service {
    pub fn new(meta: Arc<MetaStore>, blobs: Arc<dyn BlobStore>, config: ServiceConfig) -> Self {
        Service {
            blobs,
            config,
            blob_lifecycle: blob_locks::BlobLocks::new(),
            downloads: binaries::Downloads::default(),
            blob_deletes: Default::default(),
            backup_running: Default::default(),
            retention_running: Default::default(),
            writer: crate::meta::WriterThread::start(Arc::clone(&meta))
                .expect("the metadata writer thread starts"),
            meta,
        }
    }

    /// Sets how blob downloads are answered (proxied unless told otherwise).
    pub fn with_downloads(mut self, downloads: binaries::Downloads) -> Self {
        self.downloads = downloads;
        self
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    pub fn meta(&self) -> &Arc<MetaStore> {
        &self.meta
    }

    /// Runs a metadata point read inline: the block cache answers it in microseconds, less
    /// than a hop to the blocking pool and back would cost. Scans and commits (which fsync)
    /// go through [`Service::meta_call`].
    async fn meta_read<T>(
        &self,
        op: impl FnOnce(&MetaStore) -> Result<T, MetaError>,
    ) -> ServiceResult<T> {
        op(&self.meta).map_err(ServiceError::from)
    }

    /// Runs a metadata operation on the blocking pool; its commits' WAL syncs are shared
    /// with other requests' and awaited here, off the thread. `op` may fail with a `MetaError` or,
    /// when it checks rules under the writer lock, with a `ServiceError`.
    async fn meta_call<T, E, F>(&self, op: F) -> ServiceResult<T>
    where
        T: Send + 'static,
        E: Into<ServiceError> + Send + 'static,
        F: FnOnce(&MetaStore) -> Result<T, E> + Send + 'static,
    {
        let meta = Arc::clone(&self.meta);
        let (outcome, written) =
            crate::meta::audit::spawn_blocking(move || crate::meta::defer_syncs(|| op(&meta)))
                .await
                .map_err(|e| ServiceError::Internal(Box::new(e)))?;
        self.when_durable(outcome, written).await
    }

    /// Runs a metadata write (a read-check-write under the writer lock) on the writer
    /// thread, in arrival order; the answer comes once a group sync made the write durable.
    /// Reads and scans stay on `meta_call`: they run in parallel.
    async fn meta_write<T, E, F>(&self, op: F) -> ServiceResult<T>
    where
        T: Send + 'static,
        E: Into<ServiceError> + Send + 'static,
        F: FnOnce(&MetaStore) -> Result<T, E> + Send + 'static,
    {
        match self.writer.run(op).await {
            Ok(outcome) => outcome.map_err(Into::into),
            Err(crate::meta::WriteFailed::NotDurable(error)) => Err(error.into()),
            Err(dropped) => Err(ServiceError::Internal(Box::new(dropped))),
        }
    }

    /// Answers a metadata operation's outcome once what it wrote (up to `written`) is
    /// durable; the thread that ran it is free meanwhile.
    async fn when_durable<T, E: Into<ServiceError>>(
        &self,
        outcome: Result<T, E>,
        written: Option<u64>,
    ) -> ServiceResult<T> {
        if let Some(written) = written {
            self.meta.durable(written).await?;
        }
        outcome.map_err(Into::into)
    }
}
