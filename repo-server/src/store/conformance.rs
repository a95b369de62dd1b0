//! The behaviour every `BlobStore` backend must show, as one suite: a backend's test calls
//! [`run_all`] with a factory of fresh, empty stores (see `fs.rs`; an object store the same way).

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::{StreamExt, TryStreamExt};
use sha2::Digest;
use tokio::io::AsyncReadExt;

use super::{BlobStore, BlobWritten, Expected, Ingest, StoreError};
use crate::domain::Sha256Digest;
use crate::meta::{now_ms, MetaStore};
use crate::service::{Service, ServiceConfig};

type Case = fn(Arc<dyn BlobStore>) -> BoxFuture<'static, ()>;

/// Every case, by name. A backend may also call one case alone while it is being built.
pub const CASES: &[(&str, Case)] = &[
    ("put_get_round_trip", |s| Box::pin(put_get_round_trip(s))),
    ("range_reads", |s| Box::pin(range_reads(s))),
    ("stated_digest_or_size_mismatch_leaves_nothing", |s| {
        Box::pin(stated_digest_or_size_mismatch_leaves_nothing(s))
    }),
    ("abandoned_writes_leave_nothing", |s| {
        Box::pin(abandoned_writes_leave_nothing(s))
    }),
    ("listing_streams_every_blob_once", |s| {
        Box::pin(listing_streams_every_blob_once(s))
    }),
    ("delete_removes_a_blob", |s| {
        Box::pin(delete_removes_a_blob(s))
    }),
    ("last_upload_time_is_in_metadata", |s| {
        Box::pin(last_upload_time_is_in_metadata(s))
    }),
    ("concurrent_puts_of_one_digest", |s| {
        Box::pin(concurrent_puts_of_one_digest(s))
    }),
];

/// Runs every case, each on a fresh store from `new_store`.
pub async fn run_all<F, Fut>(new_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn BlobStore>>,
{
    for (name, case) in CASES {
        eprintln!("blob store conformance: {name}");
        case(new_store().await).await;
    }
}

fn pattern(seed: u8, length: usize) -> Vec<u8> {
    (0..length)
        .map(|i| (i as u32).wrapping_mul(31).wrapping_add(seed as u32) as u8)
        .collect()
}

fn sha256_of(bytes: &[u8]) -> Sha256Digest {
    Sha256Digest(sha2::Sha256::digest(bytes).into())
}

/// Stores `bytes` through the shared ingest path, in chunks of `chunk` bytes.
async fn put(
    store: &dyn BlobStore,
    bytes: &[u8],
    chunk: usize,
    expected: Expected,
) -> Result<BlobWritten, StoreError> {
    let mut ingest = Ingest::begin(store, expected).await?;
    for part in bytes.chunks(chunk) {
        if let Err(error) = ingest.write(Bytes::copy_from_slice(part)).await {
            ingest.abort().await;
            return Err(error);
        }
    }
    ingest.finish().await
}

async fn read(
    store: &dyn BlobStore,
    sha256: &Sha256Digest,
    range: Option<std::ops::Range<u64>>,
) -> (Vec<u8>, u64) {
    let mut blob = store.open(sha256, range).await.unwrap();
    let mut bytes = Vec::new();
    blob.reader.read_to_end(&mut bytes).await.unwrap();
    (bytes, blob.total_length)
}

async fn listed(store: &dyn BlobStore) -> Vec<Sha256Digest> {
    store.list().try_collect().await.unwrap()
}

/// Nothing of `sha256` can be seen, and no unfinished write's data is left (a backend may
/// clean up a dropped writer in the background: give it a few seconds).
async fn assert_nothing_left(store: &dyn BlobStore, sha256: &Sha256Digest, case: &str) {
    assert_eq!(store.stat(sha256).await.unwrap(), None, "{case}: stat");
    assert!(
        matches!(store.open(sha256, None).await, Err(StoreError::NotFound(_))),
        "{case}: open"
    );
    assert!(!listed(store).await.contains(sha256), "{case}: listed");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let strays: Vec<_> = store.strays().try_collect().await.unwrap();
        if strays.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "{case}: left behind {strays:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn put_get_round_trip(store: Arc<dyn BlobStore>) {
    let bytes = pattern(1, 3 * 1024 * 1024 + 17);
    let sha = sha256_of(&bytes);
    let stated = Expected {
        sha256: Some(sha),
        length: Some(bytes.len() as u64),
    };
    let first = put(&*store, &bytes, 65_521, stated).await.unwrap();
    assert_eq!(
        first,
        BlobWritten {
            sha256: sha,
            blake3: blake3::hash(&bytes).to_hex().to_string(),
            length: bytes.len() as u64,
            created: true,
        }
    );
    assert_eq!(
        read(&*store, &sha, None).await,
        (bytes.clone(), bytes.len() as u64)
    );
    assert_eq!(store.stat(&sha).await.unwrap(), Some(bytes.len() as u64));
    let second = put(&*store, &bytes, 1 << 20, Expected::default())
        .await
        .unwrap();
    assert_eq!(
        second,
        BlobWritten {
            created: false,
            ..first
        },
        "stored once"
    );

    let empty = put(&*store, b"", 1, Expected::default()).await.unwrap();
    assert_eq!(empty.sha256, sha256_of(b""));
    assert_eq!(read(&*store, &empty.sha256, None).await, (Vec::new(), 0));
    let mut names = listed(&*store).await;
    names.sort();
    let mut expected = vec![sha, empty.sha256];
    expected.sort();
    assert_eq!(names, expected);
}

async fn range_reads(store: Arc<dyn BlobStore>) {
    let bytes = pattern(2, 200_000);
    let sha = put(&*store, &bytes, 7_001, Expected::default())
        .await
        .unwrap()
        .sha256;
    for range in [0..1, 10..20, 0..200_000, 199_995..200_000, 1_000..150_000] {
        let (part, total) = read(&*store, &sha, Some(range.clone())).await;
        assert_eq!(total, 200_000, "{range:?}: the whole blob's size");
        assert!(
            part == bytes[range.start as usize..range.end as usize],
            "{range:?}: the bytes of the range"
        );
    }
}

async fn stated_digest_or_size_mismatch_leaves_nothing(store: Arc<dyn BlobStore>) {
    let bytes = pattern(3, 100_000);
    let actual = sha256_of(&bytes);
    let wrong = Sha256Digest([7; 32]);
    let error = put(
        &*store,
        &bytes,
        4_096,
        Expected {
            sha256: Some(wrong),
            length: None,
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, StoreError::DigestMismatch { expected, actual: a } if expected == wrong && a == actual),
        "{error:?}"
    );
    assert_nothing_left(&*store, &actual, "digest mismatch").await;

    for stated in [99_999, 100_001] {
        let error = put(
            &*store,
            &bytes,
            4_096,
            Expected {
                sha256: None,
                length: Some(stated),
            },
        )
        .await
        .unwrap_err();
        assert!(
            matches!(error, StoreError::SizeMismatch { expected, .. } if expected == stated),
            "stated {stated}: {error:?}"
        );
        assert_nothing_left(&*store, &actual, "size mismatch").await;
    }
}

async fn abandoned_writes_leave_nothing(store: Arc<dyn BlobStore>) {
    let bytes = pattern(4, 1 << 20);
    let sha = sha256_of(&bytes);

    let mut dropped = Ingest::begin(&*store, Expected::default()).await.unwrap();
    dropped.write(Bytes::from(bytes.clone())).await.unwrap();
    drop(dropped);
    assert_nothing_left(&*store, &sha, "dropped writer").await;

    let mut aborted = Ingest::begin(&*store, Expected::default()).await.unwrap();
    aborted.write(Bytes::from(bytes.clone())).await.unwrap();
    aborted.abort().await;
    let strays: Vec<_> = store.strays().try_collect().await.unwrap();
    assert!(
        strays.is_empty(),
        "abort returns once its data is gone: {strays:?}"
    );
    assert_nothing_left(&*store, &sha, "aborted writer").await;

    let mut sealed = Ingest::begin(&*store, Expected::default()).await.unwrap();
    sealed.write(Bytes::from(bytes)).await.unwrap();
    let sealed = sealed.seal().await.unwrap();
    assert_eq!(sealed.sha256(), sha);
    drop(sealed);
    assert_nothing_left(&*store, &sha, "sealed, never committed").await;
}

async fn listing_streams_every_blob_once(store: Arc<dyn BlobStore>) {
    let mut stored = BTreeSet::new();
    for i in 0..300u32 {
        let bytes = format!("listed blob {i}").into_bytes();
        stored.insert(
            put(&*store, &bytes, 5, Expected::default())
                .await
                .unwrap()
                .sha256,
        );
        if i % 10 == 0 {
            put(&*store, &bytes, 64, Expected::default()).await.unwrap();
        }
    }
    let names = listed(&*store).await;
    assert_eq!(names.len(), stored.len(), "each blob once");
    assert_eq!(names.into_iter().collect::<BTreeSet<_>>(), stored);
    // A reader that stops early ends the listing without waiting for the rest.
    let first: Vec<_> = store.list().take(10).try_collect().await.unwrap();
    assert_eq!(first.len(), 10);
    assert_eq!(listed(&*store).await.len(), stored.len());
}

async fn delete_removes_a_blob(store: Arc<dyn BlobStore>) {
    let a = put(&*store, b"blob a", 3, Expected::default())
        .await
        .unwrap()
        .sha256;
    let b = put(&*store, b"blob b", 3, Expected::default())
        .await
        .unwrap()
        .sha256;
    assert!(store.delete(&a).await.unwrap(), "a was there");
    assert_eq!(store.stat(&a).await.unwrap(), None);
    assert!(matches!(
        store.open(&a, None).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(listed(&*store).await, vec![b]);
    assert!(!store.delete(&a).await.unwrap(), "a is gone");
    let again = put(&*store, b"blob a", 3, Expected::default())
        .await
        .unwrap();
    assert!(again.created, "deleted bytes are stored anew");
    assert_eq!(read(&*store, &a, None).await.0, b"blob a");
}

/// The sweeper's grace runs from a blob's last upload as its metadata record says, whatever
/// times the backend keeps: a re-upload refreshes it, and past it the blob leaves the backend.
async fn last_upload_time_is_in_metadata(store: Arc<dyn BlobStore>) {
    let dir = tempfile::tempdir().unwrap();
    let meta = Arc::new(MetaStore::open(&dir.path().join("meta"), false).unwrap());
    let service = |grace_secs| {
        Service::new(
            Arc::clone(&meta),
            Arc::clone(&store),
            ServiceConfig {
                public_url: "http://127.0.0.1:1".into(),
                pending_upload_ttl: Duration::from_secs(3600),
                sweep_grace: Duration::from_secs(grace_secs),
                max_upload_bytes: 1 << 20,
            },
        )
    };
    let patient = service(3600);
    let before = now_ms();
    let first = upload(&patient, b"uploaded twice").await;
    let sha = first.sha256;
    let uploaded = meta.blob_record(&sha).unwrap().unwrap().last_uploaded_ms();
    assert!(uploaded >= before, "{uploaded} < {before}");
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!upload(&patient, b"uploaded twice").await.created);
    let refreshed = meta.blob_record(&sha).unwrap().unwrap().last_uploaded_ms();
    assert!(refreshed > uploaded, "a re-upload refreshes the time");

    meta.remove_pending("acme", &sha).unwrap();
    assert_eq!(meta.blob_record(&sha).unwrap().unwrap().refcount, 0);
    assert_eq!(patient.sweep().await.unwrap().blobs_deleted, 0);
    assert_eq!(
        store.stat(&sha).await.unwrap(),
        Some(first.length),
        "kept within the grace"
    );
    let hasty = service(0);
    assert_eq!(hasty.sweep().await.unwrap().blobs_deleted, 1);
    assert_eq!(
        store.stat(&sha).await.unwrap(),
        None,
        "deleted past the grace"
    );
    assert!(meta.blob_record(&sha).unwrap().is_none());
}

/// One upload as the API makes it: ingest, lock, commit, hold for the partner.
async fn upload(service: &Service, bytes: &[u8]) -> BlobWritten {
    let mut upload = service.begin_upload(Expected::default()).await.unwrap();
    upload.write(Bytes::copy_from_slice(bytes)).await.unwrap();
    upload.finish("acme").await.unwrap().written
}

async fn concurrent_puts_of_one_digest(store: Arc<dyn BlobStore>) {
    let bytes = Arc::new(pattern(5, 512 * 1024));
    let sha = sha256_of(&bytes);
    let puts: Vec<_> = (0..8)
        .map(|_| {
            let (store, bytes) = (Arc::clone(&store), Arc::clone(&bytes));
            tokio::spawn(async move { put(&*store, &bytes, 16 * 1024, Expected::default()).await })
        })
        .collect();
    let mut created = 0;
    for put in puts {
        let written = put.await.unwrap().unwrap();
        assert_eq!(written.sha256, sha);
        created += usize::from(written.created);
    }
    assert!(created >= 1, "one of them stored the bytes");
    assert_eq!(listed(&*store).await, vec![sha]);
    assert!(read(&*store, &sha, None).await.0 == *bytes);
    let strays: Vec<_> = store.strays().try_collect().await.unwrap();
    assert!(strays.is_empty(), "{strays:?}");
}
