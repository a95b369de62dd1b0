//! The hashing stage every write and every check goes through: SHA-256 (a blob's name) and
//! BLAKE3 over the streamed bytes, on blocking threads beside whatever stores the bytes.

use std::sync::mpsc::sync_channel;

use bytes::Bytes;
use futures_util::StreamExt;
use sha2::Digest;
use tokio::sync::mpsc;

use super::{BlobStore, StoreError};
use crate::domain::Sha256Digest;

/// Chunks in flight between the network and each blocking stage: bounds memory. The network
/// side waits on a full channel as any async task waits, without a thread of its own.
pub(crate) const CHANNEL_DEPTH: usize = 16;

/// Read size when a stored blob is hashed again (fsck).
const REHASH_CHUNK: usize = 1 << 20;

/// What the hashing stage computed over a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    pub sha256: Sha256Digest,
    pub blake3: String,
    pub length: u64,
}

/// A running hashing stage. Dropping it stops the threads once queued chunks are hashed.
pub struct Hasher {
    chunks: Option<mpsc::Sender<Bytes>>,
    worker: Option<tokio::task::JoinHandle<Digests>>,
}

impl Hasher {
    pub fn start() -> Self {
        let (sender, receiver) = mpsc::channel(CHANNEL_DEPTH);
        Hasher {
            chunks: Some(sender),
            worker: Some(tokio::task::spawn_blocking(move || hash(receiver))),
        }
    }

    /// Queues a chunk; waits only when the hashing threads are behind.
    pub async fn update(&mut self, chunk: Bytes) -> Result<(), StoreError> {
        let sender = self
            .chunks
            .as_ref()
            .ok_or_else(|| StoreError::internal("hashing stage already finished"))?;
        sender
            .send(chunk)
            .await
            .map_err(|_| StoreError::internal("a blob pipeline thread stopped"))
    }

    /// Waits for the digests of every chunk queued.
    pub async fn finish(mut self) -> Result<Digests, StoreError> {
        self.chunks = None;
        let worker = self.worker.take().expect("finish called once");
        worker.await.map_err(StoreError::internal)
    }
}

/// SHA-256 is the slow hash: it gets its own thread; BLAKE3 (≈3× faster) runs on this one
/// and forwards each chunk, so the two threads carry about the same load.
fn hash(mut chunks: mpsc::Receiver<Bytes>) -> Digests {
    std::thread::scope(|scope| {
        let (to_sha, sha_input) = sync_channel::<Bytes>(CHANNEL_DEPTH);
        let sha = scope.spawn(move || {
            let mut sha = sha2::Sha256::new();
            for chunk in sha_input {
                sha.update(&chunk);
            }
            Sha256Digest(sha.finalize().into())
        });
        let mut blake = blake3::Hasher::new();
        let mut length = 0u64;
        while let Some(chunk) = chunks.blocking_recv() {
            length += chunk.len() as u64;
            blake.update(&chunk);
            if to_sha.send(chunk).is_err() {
                break;
            }
        }
        drop(to_sha);
        Digests {
            sha256: sha.join().expect("the SHA-256 thread does not panic"),
            blake3: blake.finalize().to_hex().to_string(),
            length,
        }
    })
}

/// Hashes a stored blob again through the backend's reader (fsck).
pub async fn rehash(store: &dyn BlobStore, sha256: &Sha256Digest) -> Result<Digests, StoreError> {
    let blob = store.open(sha256, None).await?;
    let mut chunks = tokio_util::io::ReaderStream::with_capacity(blob.reader, REHASH_CHUNK);
    let mut hasher = Hasher::start();
    while let Some(chunk) = chunks.next().await {
        hasher.update(chunk?).await?;
    }
    hasher.finish().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn both_digests_over_chunks_equal_the_one_shot_hashes() {
        let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let mut hasher = Hasher::start();
        for chunk in bytes.chunks(4093) {
            hasher.update(Bytes::copy_from_slice(chunk)).await.unwrap();
        }
        let digests = hasher.finish().await.unwrap();
        let sha: [u8; 32] = sha2::Sha256::digest(&bytes).into();
        assert_eq!(digests.sha256, Sha256Digest(sha));
        assert_eq!(digests.blake3, blake3::hash(&bytes).to_hex().to_string());
        assert_eq!(digests.length, bytes.len() as u64);
    }
}
