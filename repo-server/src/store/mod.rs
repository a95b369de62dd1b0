//! Content-addressed blob storage behind one narrow trait. A backend only stores bytes: the
//! shared ingest path (`ingest.rs`) hashes them (`hashing.rs`), checks what the client stated
//! and tells the backend the name to publish under. Knows nothing of HTTP or metadata.

#[cfg(test)]
pub mod conformance;
mod direct_file;
pub mod fs;
pub mod hashing;
pub mod ingest;
pub mod s3;
pub mod transfer;

use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use tokio::io::AsyncRead;

use crate::config::{Config, StoreKind};
use crate::domain::Sha256Digest;

pub use fs::FsBlobStore;
pub use ingest::{Ingest, Sealed};
pub use s3::S3BlobStore;

/// Why the configured blob store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open the blob store under {path}: {source}")]
    Fs {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    S3(#[from] s3::S3OpenError),
}

/// The blob store `[store]` configures, ready to serve: the fs backend clears the temp files
/// a crash left (only this process writes there); an S3 store's temporary keys are left to
/// the sweeper, since other processes may be writing to the same bucket.
pub async fn open(config: &Config) -> Result<Arc<dyn BlobStore>, OpenError> {
    match config.store.kind {
        StoreKind::Fs => {
            let path = config.blob_dir();
            let store =
                FsBlobStore::open(&path).map_err(|source| OpenError::Fs { path, source })?;
            Ok(Arc::new(store))
        }
        StoreKind::S3 => Ok(Arc::new(S3BlobStore::open(&config.store).await?)),
    }
}

/// The configured blob store as it is, changing nothing (offline checks such as fsck).
pub async fn inspect(config: &Config) -> Result<Arc<dyn BlobStore>, OpenError> {
    match config.store.kind {
        StoreKind::Fs => Ok(Arc::new(FsBlobStore::inspect(config.blob_dir()))),
        StoreKind::S3 => Ok(Arc::new(S3BlobStore::open(&config.store).await?)),
    }
}

/// The cause of a backend failure, with its own chain of sources.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the body's SHA-256 is {actual}, but the client stated {expected}")]
    DigestMismatch {
        expected: Sha256Digest,
        actual: Sha256Digest,
    },
    #[error("the body does not have the {expected} bytes the client stated ({actual} received)")]
    SizeMismatch { expected: u64, actual: u64 },
    #[error("blob {0} not found")]
    NotFound(Sha256Digest),
    /// The backend cannot serve now (an object store unreachable or throttling); the same
    /// request may succeed after `retry_after`.
    #[error("the blob store is unavailable")]
    Unavailable {
        retry_after: Duration,
        #[source]
        source: BoxError,
    },
    #[error("blob store I/O failed: {0}")]
    Io(#[from] std::io::Error),
}

impl StoreError {
    /// A failure of the blocking pool or a writer thread, not of the storage itself.
    pub(crate) fn internal(error: impl std::fmt::Display) -> Self {
        StoreError::Io(std::io::Error::other(error.to_string()))
    }
}

/// What the client stated about a body before sending it, when it did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expected {
    pub sha256: Option<Sha256Digest>,
    pub length: Option<u64>,
}

/// The outcome of a finished write.
#[derive(Debug, Clone, PartialEq)]
pub struct BlobWritten {
    pub sha256: Sha256Digest,
    pub blake3: String,
    pub length: u64,
    /// False when identical bytes were already stored (nothing was written twice).
    pub created: bool,
}

/// A readable (part of a) blob.
pub struct BlobReader {
    pub reader: BlobBytes,
    /// Size of the whole blob, whatever part is read.
    pub total_length: u64,
}

/// The bytes of an opened blob: read already (a small answer, which a response sends
/// as one body without streaming it), or still to be read.
pub enum BlobBytes {
    InMemory(std::io::Cursor<Bytes>),
    Streamed(Pin<Box<dyn AsyncRead + Send>>),
}

impl BlobBytes {
    pub fn in_memory(bytes: impl Into<Bytes>) -> Self {
        BlobBytes::InMemory(std::io::Cursor::new(bytes.into()))
    }

    pub fn streamed(reader: impl AsyncRead + Send + 'static) -> Self {
        BlobBytes::Streamed(Box::pin(reader))
    }
}

impl AsyncRead for BlobBytes {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            BlobBytes::InMemory(bytes) => Pin::new(bytes).poll_read(cx, buf),
            BlobBytes::Streamed(reader) => reader.as_mut().poll_read(cx, buf),
        }
    }
}

/// Something in a store that is not a blob under its name (reported by fsck).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stray {
    /// How the backend names it (a path, an object key).
    pub name: String,
    pub kind: StrayKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrayKind {
    /// Bytes of a write that never finished: safe to remove while no write is in flight.
    Temp,
    /// Anything else: left for a human.
    Misplaced,
}

/// Every blob name a store holds, each once, streamed (never collected whole).
pub type BlobList<'a> = BoxStream<'a, Result<Sha256Digest, StoreError>>;

/// A blob store backend. Held as `Arc<dyn BlobStore>`; every backend passes the suite in
/// `conformance.rs`. Writes go through [`Ingest`], which hashes and verifies; a backend
/// stores bytes under the name it is given. When a blob may be deleted is the caller's
/// decision (its last upload time is in its metadata record, not in the backend).
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Starts storing one blob's bytes; they stay invisible until [`BlobWriter::commit`].
    /// `expected` is what the client stated (e.g. a small stated length allows one PUT).
    async fn begin(&self, expected: &Expected) -> Result<Box<dyn BlobWriter>, StoreError>;

    /// Opens a blob, or the byte `range` of it.
    async fn open(
        &self,
        sha256: &Sha256Digest,
        range: Option<Range<u64>>,
    ) -> Result<BlobReader, StoreError>;

    /// Size of a stored blob, `None` when absent.
    async fn stat(&self, sha256: &Sha256Digest) -> Result<Option<u64>, StoreError>;

    /// Deletes a blob durably; answers whether it was there.
    async fn delete(&self, sha256: &Sha256Digest) -> Result<bool, StoreError>;

    /// Every stored blob, each once; a blob deleted before the call is not listed, even on a
    /// store whose own listings lag behind its deletes.
    fn list(&self) -> BlobList<'_>;

    /// Everything in the store that is not a blob under its name, streamed.
    fn strays(&self) -> BoxStream<'_, Result<Stray, StoreError>>;

    /// Removes a stray (fsck `--repair`, offline).
    async fn remove_stray(&self, stray: &Stray) -> Result<(), StoreError>;

    /// Removes temporary data older than `older_than`, which no write still in progress can
    /// own (the sweeper, online); answers how many were removed. A backend only its own
    /// process writes to clears it at open instead.
    async fn remove_stale_temp(&self, _older_than: Duration) -> Result<u64, StoreError> {
        Ok(0)
    }

    /// A URL from which a client may GET the blob directly for `ttl`, when the backend can
    /// issue one (an object store); `None` means downloads go through the server.
    async fn presign(
        &self,
        _sha256: &Sha256Digest,
        _ttl: Duration,
    ) -> Result<Option<String>, StoreError> {
        Ok(None)
    }
}

/// A backend's in-progress write of bytes. Dropping it without `commit` discards them.
#[async_trait]
pub trait BlobWriter: Send {
    async fn write(&mut self, chunk: Bytes) -> Result<(), StoreError>;

    /// Makes the bytes durable and visible under `sha256` (computed from them by the ingest
    /// path); answers false when a blob of that name was there already (this copy is dropped).
    async fn commit(self: Box<Self>, sha256: &Sha256Digest) -> Result<bool, StoreError>;

    /// Discards everything written and waits until nothing of it remains on storage.
    async fn abort(self: Box<Self>);
}
