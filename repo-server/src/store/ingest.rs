//! The one write path into any backend: each chunk goes to the hashing stage and to the
//! backend's writer; at the end the digests are checked against what the client stated
//! before the backend makes the blob visible under its SHA-256.

use bytes::Bytes;

use super::hashing::{Digests, Hasher};
use super::{BlobStore, BlobWriter, BlobWritten, Expected, StoreError};
use crate::domain::Sha256Digest;

/// A write in progress. Dropping it discards the bytes (the backend's writer cleans up).
pub struct Ingest {
    writer: Box<dyn BlobWriter>,
    hasher: Hasher,
    expected: Expected,
    written: u64,
}

impl Ingest {
    pub async fn begin(store: &dyn BlobStore, expected: Expected) -> Result<Self, StoreError> {
        Ok(Ingest {
            writer: store.begin(&expected).await?,
            hasher: Hasher::start(),
            expected,
            written: 0,
        })
    }

    /// Bytes accepted so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Hashes and stores a chunk. More bytes than the client stated fail at once.
    pub async fn write(&mut self, chunk: Bytes) -> Result<(), StoreError> {
        let total = self.written + chunk.len() as u64;
        if let Some(expected) = self.expected.length.filter(|stated| total > *stated) {
            return Err(StoreError::SizeMismatch {
                expected,
                actual: total,
            });
        }
        self.hasher.update(chunk.clone()).await?;
        self.writer.write(chunk).await?;
        self.written = total;
        Ok(())
    }

    /// Waits for the digests and checks them against what the client stated. The bytes are
    /// still invisible; on a mismatch they are gone before this returns.
    pub async fn seal(self) -> Result<Sealed, StoreError> {
        let digests = match self.hasher.finish().await {
            Ok(digests) => digests,
            Err(error) => {
                self.writer.abort().await;
                return Err(error);
            }
        };
        if let Err(error) = check(&self.expected, &digests) {
            self.writer.abort().await;
            return Err(error);
        }
        Ok(Sealed {
            writer: self.writer,
            digests,
        })
    }

    /// [`Ingest::seal`] and [`Sealed::commit`] in one.
    pub async fn finish(self) -> Result<BlobWritten, StoreError> {
        self.seal().await?.commit().await
    }

    /// Discards the write; returns once nothing of it remains on storage.
    pub async fn abort(self) {
        self.writer.abort().await;
    }
}

fn check(expected: &Expected, digests: &Digests) -> Result<(), StoreError> {
    if let Some(stated) = expected.length.filter(|stated| *stated != digests.length) {
        return Err(StoreError::SizeMismatch {
            expected: stated,
            actual: digests.length,
        });
    }
    match expected.sha256 {
        Some(stated) if stated != digests.sha256 => Err(StoreError::DigestMismatch {
            expected: stated,
            actual: digests.sha256,
        }),
        _ => Ok(()),
    }
}

/// A verified write whose name is known but which is not visible yet: the caller may take
/// the blob's lock before [`Sealed::commit`]. Dropping it discards the bytes.
pub struct Sealed {
    writer: Box<dyn BlobWriter>,
    digests: Digests,
}

impl Sealed {
    pub fn sha256(&self) -> Sha256Digest {
        self.digests.sha256
    }

    /// Makes the blob durable and visible under its SHA-256.
    pub async fn commit(self) -> Result<BlobWritten, StoreError> {
        let created = self.writer.commit(&self.digests.sha256).await?;
        Ok(BlobWritten {
            sha256: self.digests.sha256,
            blake3: self.digests.blake3,
            length: self.digests.length,
            created,
        })
    }
}
