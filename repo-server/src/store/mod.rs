//! Content-addressed blob storage. A blob's name is its SHA-256; bytes are hashed while they
//! stream in, and only whole, verified, durable blobs ever become visible under their name.
//! Knows nothing of HTTP or metadata: `meta/` counts references, `service/` decides.

pub mod fs;

use std::ops::Range;
use std::pin::Pin;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::io::AsyncRead;

use crate::domain::Sha256Digest;

pub use fs::FsBlobStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the body's SHA-256 is {actual}, but the client stated {expected}")]
    DigestMismatch {
        expected: Sha256Digest,
        actual: Sha256Digest,
    },
    #[error("blob {0} not found")]
    NotFound(Sha256Digest),
    #[error("blob store I/O failed: {0}")]
    Io(#[from] std::io::Error),
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
    pub reader: Pin<Box<dyn AsyncRead + Send>>,
    /// Size of the whole blob, whatever part is read.
    pub total_length: u64,
}

/// A blob store backend. Held as `Arc<dyn BlobStore>`; every backend passes the same tests.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Starts a write; bytes stay invisible until [`BlobWriter::finish`] succeeds.
    async fn begin(&self) -> Result<Box<dyn BlobWriter>, StoreError>;

    /// Opens a blob, or the byte `range` of it.
    async fn open(
        &self,
        sha256: &Sha256Digest,
        range: Option<Range<u64>>,
    ) -> Result<BlobReader, StoreError>;

    /// Size of a stored blob, `None` when absent.
    async fn stat(&self, sha256: &Sha256Digest) -> Result<Option<u64>, StoreError>;

    /// Deletes a blob last written or re-uploaded before `unless_touched_after`; answers
    /// whether it was deleted. The grace period protects an upload racing a sweep.
    async fn delete(
        &self,
        sha256: &Sha256Digest,
        unless_touched_after: SystemTime,
    ) -> Result<bool, StoreError>;

    /// Every stored blob name (for fsck).
    async fn list(&self) -> Result<Vec<Sha256Digest>, StoreError>;
}

/// An in-progress write. Dropping it without `finish` discards everything written.
#[async_trait]
pub trait BlobWriter: Send {
    async fn write(&mut self, chunk: Bytes) -> Result<(), StoreError>;

    /// Verifies `expected` (when given), makes the blob durable and visible under its name.
    async fn finish(
        self: Box<Self>,
        expected: Option<Sha256Digest>,
    ) -> Result<BlobWritten, StoreError>;

    /// Discards everything written and waits until nothing of it remains on storage.
    async fn abort(self: Box<Self>);

    /// Bytes written so far.
    fn written(&self) -> u64;
}
