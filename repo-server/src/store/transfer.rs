//! Copies blobs from one store into another (backups, restores, migrations): each blob goes
//! through the shared ingest path with its known digest and size, so a copy that is not
//! exactly the source's bytes never becomes visible. Between two filesystem stores on one
//! filesystem a blob is hard-linked instead (blobs are immutable files).

use futures_util::StreamExt;

use super::{BlobStore, Expected, FsBlobStore, Ingest, StoreError};
use crate::domain::Sha256Digest;

/// Bytes read from the source per chunk fed to the ingest path.
const COPY_CHUNK: usize = 1 << 20;

/// What [`copy_blob`] or [`link_or_copy`] did with one blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transferred {
    /// The destination held it already with the expected size: nothing was sent.
    Present,
    /// Hard-linked (no bytes copied).
    Linked,
    /// Its bytes were streamed through the ingest path and verified.
    Copied,
}

/// Copies one blob of `length` bytes unless `to` holds it already with that size (a blob
/// is visible only once complete, so the right size under its name means the whole blob).
pub async fn copy_blob(
    from: &dyn BlobStore,
    to: &dyn BlobStore,
    sha256: &Sha256Digest,
    length: u64,
) -> Result<Transferred, StoreError> {
    if to.stat(sha256).await? == Some(length) {
        return Ok(Transferred::Present);
    }
    let source = from.open(sha256, None).await?;
    let expected = Expected {
        sha256: Some(*sha256),
        length: Some(length),
    };
    let mut ingest = Ingest::begin(to, expected).await?;
    let mut chunks = tokio_util::io::ReaderStream::with_capacity(source.reader, COPY_CHUNK);
    while let Some(chunk) = chunks.next().await {
        let written = match chunk {
            Ok(chunk) => ingest.write(chunk).await,
            Err(error) => Err(error.into()),
        };
        if let Err(error) = written {
            ingest.abort().await;
            return Err(error);
        }
    }
    ingest.finish().await?;
    Ok(Transferred::Copied)
}

/// Between two filesystem stores: a hard link when both are on one filesystem, otherwise
/// (or when linking fails for another reason) a verified copy.
pub async fn link_or_copy(
    from: &std::sync::Arc<FsBlobStore>,
    to: &std::sync::Arc<FsBlobStore>,
    sha256: &Sha256Digest,
    length: u64,
) -> Result<Transferred, StoreError> {
    let (source, target, sha) = (from.clone(), to.clone(), *sha256);
    let linked = tokio::task::spawn_blocking(move || target.link_from(&source, &sha))
        .await
        .map_err(StoreError::internal)?;
    match linked {
        Ok(true) => Ok(Transferred::Linked),
        Ok(false) if to.stat(sha256).await? == Some(length) => Ok(Transferred::Present),
        Ok(false) => Err(StoreError::internal(format!(
            "blob {sha256} in the destination does not have its {length} bytes"
        ))),
        Err(error) => {
            tracing::debug!(%error, blob.sha256 = %sha256, "cannot hard-link; copying");
            copy_blob(from.as_ref(), to.as_ref(), sha256, length).await
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::hashing::rehash;

    async fn put(store: &dyn BlobStore, bytes: &[u8]) -> Sha256Digest {
        let mut ingest = Ingest::begin(store, Expected::default()).await.unwrap();
        ingest
            .write(bytes::Bytes::copy_from_slice(bytes))
            .await
            .unwrap();
        ingest.finish().await.unwrap().sha256
    }

    /// A copy verifies the digest it was told: a source whose bytes do not hash to the name
    /// leaves nothing in the destination; a good copy reads back whole; a second is skipped.
    #[tokio::test]
    async fn a_copy_is_verified_and_skipped_once_present() {
        let dir = tempfile::tempdir().unwrap();
        let from = FsBlobStore::open(dir.path().join("a")).unwrap();
        let to = FsBlobStore::open(dir.path().join("b")).unwrap();
        let bytes = vec![7u8; 3 * COPY_CHUNK + 5];
        let sha = put(&from, &bytes).await;
        let len = bytes.len() as u64;

        assert_eq!(
            copy_blob(&from, &to, &sha, len).await.unwrap(),
            Transferred::Copied
        );
        assert_eq!(rehash(&to, &sha).await.unwrap().sha256, sha);
        assert_eq!(
            copy_blob(&from, &to, &sha, len).await.unwrap(),
            Transferred::Present
        );

        // A corrupt source (its bytes changed under the name) is refused.
        let other = FsBlobStore::open(dir.path().join("c")).unwrap();
        std::fs::write(from.blob_path(&sha), b"not the bytes").unwrap();
        let refused = copy_blob(&from, &other, &sha, len).await;
        assert!(
            matches!(refused, Err(StoreError::SizeMismatch { .. })),
            "{refused:?}"
        );
        assert_eq!(other.stat(&sha).await.unwrap(), None);
    }

    /// On one filesystem a blob is linked, not copied; a blob already there is left alone.
    #[tokio::test]
    async fn fs_to_fs_on_one_filesystem_links() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let from = Arc::new(FsBlobStore::open(dir.path().join("a")).unwrap());
        let to = Arc::new(FsBlobStore::open(dir.path().join("b")).unwrap());
        let sha = put(from.as_ref(), b"linked bytes").await;
        assert_eq!(
            link_or_copy(&from, &to, &sha, 12).await.unwrap(),
            Transferred::Linked
        );
        assert_eq!(std::fs::metadata(to.blob_path(&sha)).unwrap().nlink(), 2);
        assert_eq!(
            link_or_copy(&from, &to, &sha, 12).await.unwrap(),
            Transferred::Present
        );
    }
}
