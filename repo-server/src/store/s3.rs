//! S3 backend (any S3-compatible store; proven on Garage) through the `object_store` crate.
//! Blobs live at `<prefix>sha256/<hex>`; a write in progress at `<prefix>tmp/<random>`.
//!
//! A body smaller than one part stays in memory and is one PUT straight to its name at
//! commit (the digest is known by then). A larger one streams into a multipart upload of a
//! temporary key, a few parts in flight; commit completes it, copies it to its name (a
//! metadata-only copy on Garage) and deletes the temporary key. Nothing relies on
//! conditional writes (Garage ignores `If-None-Match`): a HEAD answers "already stored", and
//! two racing copies of one name write the same bytes. A writer dropped mid-way aborts its
//! multipart upload in a spawned task; a temporary key a crash left behind is removed by the
//! sweeper once it is older than any upload could be ([`BlobStore::remove_stale_temp`]).

use std::io;
use std::ops::Range;
use std::path::Path as FsPath;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, GetRange, MultipartUpload, ObjectStore,
    ObjectStoreExt, PutPayload, RetryConfig,
};
use serde::Deserialize;
use tokio::task::JoinSet;

use super::{
    BlobBytes, BlobList, BlobReader, BlobStore, BlobWriter, Expected, StoreError, Stray, StrayKind,
};
use crate::config::{StoreConfig, MIN_PART_SIZE};
use crate::domain::Sha256Digest;

/// Parts of one upload being sent at once (each holds `part_size` bytes in memory).
const PARTS_IN_FLIGHT: usize = 2;

/// What a 503 tells the client to wait before retrying when the store is unreachable.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// Bounds on one request to the store, so that an unreachable store fails an upload in a
/// few seconds rather than minutes.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const RETRIES: usize = 2;
const RETRY_BUDGET: Duration = Duration::from_secs(4);

/// The S3 key pair. Read from a file or the environment, never from flags; not printed.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

/// Why an S3 store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum S3OpenError {
    #[error("[store] kind = \"s3\" needs {0}")]
    Missing(&'static str),
    #[error("[store] part_size_bytes must be at least {MIN_PART_SIZE} (S3's smallest part)")]
    PartSize,
    #[error("cannot read S3 credentials from {path}: {reason}")]
    CredentialsFile { path: String, reason: String },
    #[error(
        "no S3 credentials: set credentials_file or FWREPO_S3_ACCESS_KEY_ID and FWREPO_S3_SECRET_ACCESS_KEY"
    )]
    NoCredentials,
    #[error("cannot reach bucket {bucket}: {source}")]
    Bucket {
        bucket: String,
        source: object_store::Error,
    },
    #[error(transparent)]
    Client(#[from] object_store::Error),
}

impl S3Credentials {
    /// From `credentials_file` when set, else from `FWREPO_S3_ACCESS_KEY_ID` and
    /// `FWREPO_S3_SECRET_ACCESS_KEY`.
    pub fn load(file: Option<&FsPath>) -> Result<Self, S3OpenError> {
        if let Some(path) = file {
            let unreadable = |reason: String| S3OpenError::CredentialsFile {
                path: path.display().to_string(),
                reason,
            };
            let text = std::fs::read_to_string(path).map_err(|e| unreadable(e.to_string()))?;
            // The parse error would quote the file's text, secret included: say only where.
            return toml::from_str(&text).map_err(|e| {
                unreadable(format!(
                    "expected access_key_id and secret_access_key ({})",
                    e.span()
                        .map_or("?".into(), |s| format!("at byte {}", s.start))
                ))
            });
        }
        match (
            std::env::var("FWREPO_S3_ACCESS_KEY_ID"),
            std::env::var("FWREPO_S3_SECRET_ACCESS_KEY"),
        ) {
            (Ok(access_key_id), Ok(secret_access_key)) => Ok(S3Credentials {
                access_key_id,
                secret_access_key,
            }),
            _ => Err(S3OpenError::NoCredentials),
        }
    }
}

/// Where each kind of object lives under the store's prefix.
#[derive(Clone)]
struct Keys {
    /// Empty, or ending in `/`.
    prefix: String,
}

impl Keys {
    fn new(prefix: &str) -> Self {
        let trimmed = prefix.trim_matches('/');
        Keys {
            prefix: if trimmed.is_empty() {
                String::new()
            } else {
                format!("{trimmed}/")
            },
        }
    }

    fn blob(&self, sha256: &Sha256Digest) -> Path {
        Path::from(format!("{}sha256/{}", self.prefix, sha256.to_hex()))
    }

    fn blobs(&self) -> Path {
        Path::from(format!("{}sha256", self.prefix))
    }

    fn temp_dir(&self) -> Path {
        Path::from(format!("{}tmp", self.prefix))
    }

    fn new_temp(&self) -> Path {
        let name: [u8; 16] = rand::random();
        Path::from(format!("{}tmp/{}", self.prefix, hex::encode(name)))
    }

    /// Everything of this store (`None`: the whole bucket).
    fn root(&self) -> Option<Path> {
        (!self.prefix.is_empty()).then(|| Path::from(self.prefix.as_str()))
    }

    /// What a key of this store is: a blob at its name, or a stray.
    fn classify(&self, key: &Path) -> Result<Sha256Digest, StrayKind> {
        let relative = key.as_ref().strip_prefix(&self.prefix).unwrap_or("");
        if relative.starts_with("tmp/") {
            return Err(StrayKind::Temp);
        }
        relative
            .strip_prefix("sha256/")
            .and_then(|hex| {
                Sha256Digest::parse_hex("blob", hex)
                    .ok()
                    .filter(|sha| sha.to_hex() == hex)
            })
            .ok_or(StrayKind::Misplaced)
    }
}

pub struct S3BlobStore {
    /// Every request but the reads of a blob's bytes (each bounded by REQUEST_TIMEOUT).
    client: Arc<AmazonS3>,
    /// Reads of a blob's bytes: no bound on the whole request, whose body flows at the pace
    /// of the client it is proxied to.
    reader: Arc<AmazonS3>,
    keys: Keys,
    part_size: usize,
}

impl S3BlobStore {
    /// Builds the client from `[store]` and checks the bucket answers (a store that cannot
    /// be reached now is only logged: it may come back; a wrong bucket or key fails).
    pub async fn open(config: &StoreConfig) -> Result<Self, S3OpenError> {
        let credentials = S3Credentials::load(config.credentials_file.as_deref())?;
        let store = Self::connect(config, &credentials)?;
        store.check_bucket(config).await?;
        Ok(store)
    }

    /// The client only, without touching the network.
    pub fn connect(config: &StoreConfig, credentials: &S3Credentials) -> Result<Self, S3OpenError> {
        let endpoint = config
            .endpoint
            .as_deref()
            .ok_or(S3OpenError::Missing("endpoint"))?;
        let bucket = config
            .bucket
            .as_deref()
            .ok_or(S3OpenError::Missing("bucket"))?;
        if config.part_size_bytes < MIN_PART_SIZE {
            return Err(S3OpenError::PartSize);
        }
        let build = |options: ClientOptions| {
            AmazonS3Builder::new()
                .with_endpoint(endpoint.trim_end_matches('/'))
                .with_bucket_name(bucket)
                .with_region(&config.region)
                .with_access_key_id(&credentials.access_key_id)
                .with_secret_access_key(&credentials.secret_access_key)
                .with_virtual_hosted_style_request(false)
                .with_retry(RetryConfig {
                    backoff: BackoffConfig {
                        init_backoff: Duration::from_millis(100),
                        max_backoff: Duration::from_secs(1),
                        base: 2.0,
                    },
                    max_retries: RETRIES,
                    retry_timeout: RETRY_BUDGET,
                })
                .with_client_options(
                    // The client options carry the scheme rule too (set here, not on the
                    // builder, whose flag these options would replace).
                    options
                        .with_allow_http(true)
                        .with_connect_timeout(CONNECT_TIMEOUT),
                )
                .build()
        };
        Ok(S3BlobStore {
            client: Arc::new(build(ClientOptions::new().with_timeout(REQUEST_TIMEOUT))?),
            reader: Arc::new(build(ClientOptions::new().with_timeout_disabled())?),
            keys: Keys::new(&config.prefix),
            part_size: usize::try_from(config.part_size_bytes).unwrap_or(usize::MAX),
        })
    }

    async fn check_bucket(&self, config: &StoreConfig) -> Result<(), S3OpenError> {
        let probe = self.client.list(Some(&self.keys.temp_dir())).next().await;
        match probe {
            None | Some(Ok(_)) => Ok(()),
            Some(Err(error)) if is_unavailable(&error) => {
                tracing::warn!(error = %error, "the S3 store does not answer yet; blob requests answer 503 until it does");
                Ok(())
            }
            Some(Err(source)) => Err(S3OpenError::Bucket {
                bucket: config.bucket.clone().unwrap_or_default(),
                source,
            }),
        }
    }
}

/// True when the store could not be reached or answered that it cannot serve now (5xx,
/// 429, SlowDown): the same request may succeed later. The client's own error types are
/// not all public, so the status is read from the message where no type says it.
fn is_unavailable(error: &object_store::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(http) = current.downcast_ref::<object_store::client::HttpError>() {
            use object_store::client::HttpErrorKind as Kind;
            return matches!(
                http.kind(),
                Kind::Connect | Kind::Request | Kind::Timeout | Kind::Interrupted
            );
        }
        let message = current.to_string();
        let transient = ["status code: 5", "status code: 429", "SlowDown"]
            .iter()
            .any(|marker| message.contains(marker));
        if transient {
            return true;
        }
        cause = current.source();
    }
    false
}

fn store_error(error: object_store::Error) -> StoreError {
    if is_unavailable(&error) {
        StoreError::Unavailable {
            retry_after: RETRY_AFTER,
            source: Box::new(error),
        }
    } else {
        StoreError::Io(io::Error::other(error))
    }
}

/// An object's error, where "not found" means the blob is missing.
fn blob_error(sha256: &Sha256Digest, error: object_store::Error) -> StoreError {
    match error {
        object_store::Error::NotFound { .. } => StoreError::NotFound(*sha256),
        other => store_error(other),
    }
}

/// The bytes of a write so far.
enum Body {
    /// Less than one part: kept in memory, one PUT at commit.
    Buffered { chunks: Vec<Bytes>, length: usize },
    /// A multipart upload of a temporary key, started when the first part filled.
    Multipart(Parts),
}

/// A multipart upload in progress: the part being filled and at most [`PARTS_IN_FLIGHT`]
/// being sent, each by its own task.
struct Parts {
    upload: Box<dyn MultipartUpload>,
    temp: Path,
    filling: Vec<Bytes>,
    filled: usize,
    sending: JoinSet<object_store::Result<()>>,
}

impl Parts {
    /// Adds bytes; a full part is sent once fewer than [`PARTS_IN_FLIGHT`] are on their way.
    async fn put(&mut self, chunk: Bytes, part_size: usize) -> Result<(), StoreError> {
        self.filled += chunk.len();
        self.filling.push(chunk);
        if self.filled >= part_size {
            self.send_part(PARTS_IN_FLIGHT - 1).await?;
        }
        Ok(())
    }

    /// Sends the part being filled after waiting until at most `in_flight` others are.
    async fn send_part(&mut self, in_flight: usize) -> Result<(), StoreError> {
        self.wait_for(in_flight).await?;
        let part: PutPayload = std::mem::take(&mut self.filling).into_iter().collect();
        self.filled = 0;
        self.sending.spawn(self.upload.put_part(part));
        Ok(())
    }

    async fn wait_for(&mut self, in_flight: usize) -> Result<(), StoreError> {
        while self.sending.len() > in_flight {
            match self.sending.join_next().await {
                Some(Ok(sent)) => sent.map_err(store_error)?,
                Some(Err(join)) => return Err(StoreError::internal(join)),
                None => break,
            }
        }
        Ok(())
    }

    /// Sends the last part and completes the upload: the temporary key exists after it.
    async fn complete(&mut self) -> Result<(), StoreError> {
        if self.filled > 0 {
            self.send_part(PARTS_IN_FLIGHT - 1).await?;
        }
        self.wait_for(0).await?;
        self.upload.complete().await.map_err(store_error)?;
        Ok(())
    }

    /// Stops the parts on their way and discards the upload's parts on the store.
    async fn abort(mut self) {
        self.sending.shutdown().await;
        if let Err(error) = self.upload.abort().await {
            tracing::warn!(key = %self.temp, error = %error, "cannot abort a multipart upload; the store keeps its parts until its lifecycle rule removes them");
        }
    }
}

pub struct S3BlobWriter {
    client: Arc<AmazonS3>,
    keys: Keys,
    part_size: usize,
    /// `None` once committed or aborted; a multipart upload left here at drop is aborted.
    body: Option<Body>,
}

impl S3BlobWriter {
    /// Starts the multipart upload; the buffered bytes become its first part.
    async fn start_multipart(
        &mut self,
        chunks: Vec<Bytes>,
        filled: usize,
    ) -> Result<(), StoreError> {
        let temp = self.keys.new_temp();
        let upload = self
            .client
            .put_multipart(&temp)
            .await
            .map_err(store_error)?;
        let mut parts = Parts {
            upload,
            temp,
            filling: chunks,
            filled,
            sending: JoinSet::new(),
        };
        let started = parts.send_part(PARTS_IN_FLIGHT - 1).await;
        self.body = Some(Body::Multipart(parts));
        started
    }

    /// Discards whatever was written, waiting until the store has dropped it.
    async fn discard(&mut self) {
        if let Some(Body::Multipart(parts)) = self.body.take() {
            parts.abort().await;
        }
    }
}

/// A completed temporary key: deleted by [`TempKey::remove`], or in the background if the
/// future that owns it is dropped first.
struct TempKey {
    client: Arc<AmazonS3>,
    key: Option<Path>,
}

impl TempKey {
    async fn remove(mut self) -> Result<(), StoreError> {
        let key = self.key.take().expect("removed once");
        self.client.delete(&key).await.map_err(store_error)
    }
}

impl Drop for TempKey {
    fn drop(&mut self) {
        if let (Some(key), Ok(runtime)) = (self.key.take(), tokio::runtime::Handle::try_current()) {
            let client = Arc::clone(&self.client);
            runtime.spawn(async move {
                if let Err(error) = client.delete(&key).await {
                    tracing::warn!(key = %key, error = %error, "cannot delete a temporary key; the sweeper will");
                }
            });
        }
    }
}

#[async_trait]
impl BlobWriter for S3BlobWriter {
    async fn write(&mut self, chunk: Bytes) -> Result<(), StoreError> {
        match self.body.as_mut() {
            Some(Body::Buffered { chunks, length }) => {
                *length += chunk.len();
                chunks.push(chunk);
                if *length >= self.part_size {
                    let (chunks, filled) = (std::mem::take(chunks), *length);
                    self.start_multipart(chunks, filled).await?;
                }
                Ok(())
            }
            Some(Body::Multipart(parts)) => parts.put(chunk, self.part_size).await,
            None => Err(StoreError::internal("blob writer already finished")),
        }
    }

    async fn commit(mut self: Box<Self>, sha256: &Sha256Digest) -> Result<bool, StoreError> {
        let target = self.keys.blob(sha256);
        // On any error below the body is still here, and dropping the writer aborts it.
        if head(&self.client, &target).await?.is_some() {
            self.discard().await;
            return Ok(false);
        }
        if let Some(Body::Multipart(parts)) = self.body.as_mut() {
            parts.complete().await?;
        }
        match self.body.take().expect("commit called once") {
            Body::Buffered { chunks, .. } => {
                let payload: PutPayload = chunks.into_iter().collect();
                self.client
                    .put(&target, payload)
                    .await
                    .map_err(store_error)?;
            }
            Body::Multipart(parts) => {
                // The temporary key exists now: it goes whatever happens to this future.
                let temp = TempKey {
                    client: Arc::clone(&self.client),
                    key: Some(parts.temp),
                };
                let from = temp.key.as_ref().expect("just set");
                self.client.copy(from, &target).await.map_err(store_error)?;
                temp.remove().await?;
            }
        }
        Ok(true)
    }

    async fn abort(mut self: Box<Self>) {
        self.discard().await;
    }
}

impl Drop for S3BlobWriter {
    fn drop(&mut self) {
        if let (Some(Body::Multipart(parts)), Ok(runtime)) =
            (self.body.take(), tokio::runtime::Handle::try_current())
        {
            runtime.spawn(parts.abort());
        }
    }
}

/// HEAD requests a listing keeps in flight to confirm the keys it lists.
const LIST_CONFIRMS_IN_FLIGHT: usize = 8;

/// The size of the object at `key`, `None` when there is none.
async fn head(client: &AmazonS3, key: &Path) -> Result<Option<u64>, StoreError> {
    match client.head(key).await {
        Ok(meta) => Ok(Some(meta.size)),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(error) => Err(store_error(error)),
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn begin(&self, _expected: &Expected) -> Result<Box<dyn BlobWriter>, StoreError> {
        // A stated length below one part needs nothing more: such a body ends before the
        // first part fills, and is one PUT.
        Ok(Box::new(S3BlobWriter {
            client: Arc::clone(&self.client),
            keys: self.keys.clone(),
            part_size: self.part_size,
            body: Some(Body::Buffered {
                chunks: Vec::new(),
                length: 0,
            }),
        }))
    }

    async fn open(
        &self,
        sha256: &Sha256Digest,
        range: Option<Range<u64>>,
    ) -> Result<BlobReader, StoreError> {
        let key = self.keys.blob(sha256);
        if range.as_ref().is_some_and(|r| r.start >= r.end) {
            // S3 has no empty range: the size alone answers.
            let total_length = head(&self.client, &key)
                .await?
                .ok_or(StoreError::NotFound(*sha256))?;
            return Ok(BlobReader {
                reader: BlobBytes::in_memory(Bytes::new()),
                total_length,
            });
        }
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let got = self
            .reader
            .get_opts(&key, options)
            .await
            .map_err(|e| blob_error(sha256, e))?;
        let total_length = got.meta.size;
        let bytes = got.into_stream().map_err(io::Error::other);
        Ok(BlobReader {
            reader: BlobBytes::streamed(tokio_util::io::StreamReader::new(bytes)),
            total_length,
        })
    }

    async fn stat(&self, sha256: &Sha256Digest) -> Result<Option<u64>, StoreError> {
        head(&self.client, &self.keys.blob(sha256)).await
    }

    async fn delete(&self, sha256: &Sha256Digest) -> Result<bool, StoreError> {
        // S3's DELETE answers the same whether the key was there: ask first.
        let key = self.keys.blob(sha256);
        if head(&self.client, &key).await?.is_none() {
            return Ok(false);
        }
        self.client.delete(&key).await.map_err(store_error)?;
        Ok(true)
    }

    /// Each listed key is confirmed with a HEAD: Garage filters deleted keys out of a listing
    /// on each node before it merges the quorum's answers, so a blob deleted a moment ago can
    /// still be listed until the delete reaches every replica. A HEAD merges first.
    fn list(&self) -> BlobList<'_> {
        let keys = self.keys.clone();
        self.client
            .list(Some(&self.keys.blobs()))
            .filter_map(move |item| {
                std::future::ready(match item {
                    Ok(meta) => keys.classify(&meta.location).ok().map(Ok),
                    Err(error) => Some(Err(store_error(error))),
                })
            })
            .map(move |listed| async move {
                let sha256 = listed?;
                Ok(self.stat(&sha256).await?.map(|_| sha256))
            })
            .buffered(LIST_CONFIRMS_IN_FLIGHT)
            .filter_map(|confirmed| std::future::ready(confirmed.transpose()))
            .boxed()
    }

    fn strays(&self) -> BoxStream<'_, Result<Stray, StoreError>> {
        let keys = self.keys.clone();
        self.client
            .list(self.keys.root().as_ref())
            .filter_map(move |item| {
                std::future::ready(match item {
                    Ok(meta) => keys.classify(&meta.location).err().map(|kind| {
                        Ok(Stray {
                            name: meta.location.to_string(),
                            kind,
                        })
                    }),
                    Err(error) => Some(Err(store_error(error))),
                })
            })
            .boxed()
    }

    async fn remove_stray(&self, stray: &Stray) -> Result<(), StoreError> {
        if !stray.name.starts_with(&self.keys.prefix) {
            return Err(StoreError::internal(format!(
                "{} is not in the blob store",
                stray.name
            )));
        }
        self.client
            .delete(&Path::from(stray.name.as_str()))
            .await
            .map_err(store_error)
    }

    async fn remove_stale_temp(&self, older_than: Duration) -> Result<u64, StoreError> {
        let cutoff = SystemTime::now()
            .checked_sub(older_than)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let mut temps = self.client.list(Some(&self.keys.temp_dir()));
        let mut removed = 0;
        while let Some(meta) = temps.next().await {
            let meta = meta.map_err(store_error)?;
            // A key deleted a moment ago can still be listed (see `list`): not counted.
            if SystemTime::from(meta.last_modified) < cutoff
                && head(&self.client, &meta.location).await?.is_some()
            {
                self.client
                    .delete(&meta.location)
                    .await
                    .map_err(store_error)?;
                tracing::info!(key = %meta.location, "deleted a stale temporary key");
                removed += 1;
            }
        }
        Ok(removed)
    }

    async fn presign(
        &self,
        sha256: &Sha256Digest,
        ttl: Duration,
    ) -> Result<Option<String>, StoreError> {
        let url = self
            .client
            .signed_url(http::Method::GET, &self.keys.blob(sha256), ttl)
            .await
            .map_err(store_error)?;
        Ok(Some(url.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Instant;

    use futures_util::TryStreamExt;
    use fwrepo_garage::GarageCluster;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::store::{Ingest, StoreError};

    fn credentials(cluster: &GarageCluster) -> S3Credentials {
        S3Credentials {
            access_key_id: cluster.access_key_id().into(),
            secret_access_key: cluster.secret_access_key().into(),
        }
    }

    fn config(endpoint: &str, prefix: &str) -> StoreConfig {
        StoreConfig {
            kind: crate::config::StoreKind::S3,
            endpoint: Some(endpoint.into()),
            bucket: Some(fwrepo_garage::BUCKET.into()),
            region: fwrepo_garage::REGION.into(),
            prefix: prefix.into(),
            ..StoreConfig::default()
        }
    }

    async fn start_cluster() -> GarageCluster {
        tokio::task::spawn_blocking(GarageCluster::start)
            .await
            .unwrap()
    }

    /// A store under its own prefix of the cluster's bucket, with parts of `part_size`
    /// (below S3's 5 MiB minimum only here, so that small bodies take the multipart path).
    fn store(cluster: &GarageCluster, prefix: &str, part_size: usize) -> S3BlobStore {
        let mut store = S3BlobStore::connect(
            &config(&cluster.s3_endpoint(), prefix),
            &credentials(cluster),
        )
        .unwrap();
        store.part_size = part_size;
        store
    }

    async fn put(store: &dyn BlobStore, bytes: &[u8]) -> crate::store::BlobWritten {
        let mut ingest = Ingest::begin(store, Expected::default()).await.unwrap();
        for chunk in bytes.chunks(64 * 1024) {
            ingest.write(Bytes::copy_from_slice(chunk)).await.unwrap();
        }
        ingest.finish().await.unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn s3_backend_passes_the_conformance_suite_on_garage() {
        let cluster = Arc::new(start_cluster().await);
        // Once with parts of 1 MiB (every case of 1 MiB and more goes through a multipart
        // upload and a copy), once with the default part size (every body is one PUT).
        for part_size in [1 << 20, StoreConfig::default().part_size_bytes as usize] {
            let counter = AtomicU64::new(0);
            let cluster = Arc::clone(&cluster);
            super::super::conformance::run_all(move || {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let prefix = format!("conformance-{part_size}/{n}");
                let store: Arc<dyn BlobStore> = Arc::new(store(&cluster, &prefix, part_size));
                std::future::ready(store)
            })
            .await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn blobs_live_at_their_content_address_and_temporary_keys_go() {
        let cluster = start_cluster().await;
        let store = store(&cluster, "layout", 1 << 20);
        let small = put(&store, b"one small body").await;
        let large_bytes: Vec<u8> = (0..3 * (1 << 20) + 5).map(|i| (i % 251) as u8).collect();
        let large = put(&store, &large_bytes).await;
        assert!(small.created && large.created);
        let mut keys = cluster.object_keys().await;
        keys.sort();
        let mut expected = vec![
            format!("layout/sha256/{}", small.sha256.to_hex()),
            format!("layout/sha256/{}", large.sha256.to_hex()),
        ];
        expected.sort();
        assert_eq!(keys, expected, "no temporary key is left");
        assert!(!put(&store, &large_bytes).await.created, "stored once");
        assert_eq!(cluster.object_keys().await.len(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stale_temporary_keys_are_removed_and_fresh_ones_kept() {
        let cluster = start_cluster().await;
        let store = store(&cluster, "sweep", 1 << 20);
        let raw = cluster.s3_client();
        raw.put(&Path::from("sweep/tmp/crashed"), "half".into())
            .await
            .unwrap();
        let blob = put(&store, b"a blob").await.sha256;
        assert_eq!(
            store
                .remove_stale_temp(Duration::from_secs(3600))
                .await
                .unwrap(),
            0,
            "younger than the bound: may belong to an upload in progress"
        );
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(store.remove_stale_temp(Duration::ZERO).await.unwrap(), 1);
        assert_eq!(
            cluster.object_keys().await,
            vec![format!("sweep/sha256/{}", blob.to_hex())],
            "only the temporary key went"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_presigned_url_serves_the_blob_for_its_lifetime_only() {
        let cluster = start_cluster().await;
        let store = store(&cluster, "presign", 1 << 20);
        let blob = put(&store, b"signed bytes").await.sha256;
        let url = store
            .presign(&blob, Duration::from_secs(60))
            .await
            .unwrap()
            .expect("an S3 store presigns");
        let answer = reqwest::get(&url).await.unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.bytes().await.unwrap().as_ref(), b"signed bytes");
        let short = store
            .presign(&blob, Duration::from_secs(1))
            .await
            .unwrap()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(2100)).await;
        // Garage answers an expired signature 400, a missing one 403.
        let expired = reqwest::get(&short).await.unwrap().status();
        assert!(expired.is_client_error(), "expired: {expired}");
        let unsigned = url.split('?').next().unwrap();
        let refused = reqwest::get(unsigned).await.unwrap().status();
        assert!(refused.is_client_error(), "unsigned: {refused}");
    }

    /// A port nothing listens on.
    fn closed_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    fn offline_store(endpoint: &str) -> S3BlobStore {
        let mut config = config(endpoint, "");
        config.bucket = Some("fwrepo".into());
        S3BlobStore::connect(
            &config,
            &S3Credentials {
                access_key_id: "GK0000".into(),
                secret_access_key: "secret".into(),
            },
        )
        .unwrap()
    }

    fn assert_unavailable<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
        match result {
            Err(StoreError::Unavailable { retry_after, .. }) => {
                assert_eq!(retry_after, RETRY_AFTER, "{what}")
            }
            other => panic!("{what}: expected Unavailable, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_unreachable_store_is_unavailable_within_seconds() {
        let store = offline_store(&format!("http://127.0.0.1:{}", closed_port()));
        let started = Instant::now();
        let mut ingest = Ingest::begin(&store, Expected::default()).await.unwrap();
        ingest.write(Bytes::from_static(b"bytes")).await.unwrap();
        assert_unavailable(ingest.finish().await, "commit");
        assert_unavailable(store.stat(&Sha256Digest([1; 32])).await, "stat");
        assert_unavailable(
            store.open(&Sha256Digest([1; 32]), None).await.map(|_| ()),
            "open",
        );
        let listed: Result<Vec<_>, _> = store.list().try_collect().await;
        assert_unavailable(listed, "list");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "four requests failed in {:?}",
            started.elapsed()
        );
    }

    /// Answers every request with `status` and an S3 error body, forever.
    async fn answering(status: &'static str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut request = vec![0u8; 64 * 1024];
                    let _ = socket.read(&mut request).await;
                    let body = "<Error><Code>Whatever</Code></Error>";
                    let answer = format!(
                        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(answer.as_bytes()).await;
                });
            }
        });
        format!("http://{address}")
    }

    #[tokio::test]
    async fn a_throttling_store_is_unavailable_and_a_refusing_one_is_an_error() {
        let busy = offline_store(&answering("503 Service Unavailable").await);
        assert_unavailable(busy.stat(&Sha256Digest([2; 32])).await, "503");
        let throttled = offline_store(&answering("429 Too Many Requests").await);
        assert_unavailable(throttled.stat(&Sha256Digest([2; 32])).await, "429");
        let refusing = offline_store(&answering("403 Forbidden").await);
        match refusing.stat(&Sha256Digest([2; 32])).await {
            Err(StoreError::Io(_)) => {}
            other => panic!("a 403 is no outage: {other:?}"),
        }
    }

    #[test]
    fn credentials_come_from_a_file_and_never_print_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s3.toml");
        std::fs::write(
            &file,
            "access_key_id = \"GKabc\"\nsecret_access_key = \"very-secret\"\n",
        )
        .unwrap();
        let loaded = S3Credentials::load(Some(&file)).unwrap();
        assert_eq!(loaded.access_key_id, "GKabc");
        assert_eq!(loaded.secret_access_key, "very-secret");
        assert!(!format!("{loaded:?}").contains("very-secret"));
        std::fs::write(
            &file,
            "access_key_id = \"GKabc\"\nsecret = \"very-secret\"\n",
        )
        .unwrap();
        let error = S3Credentials::load(Some(&file)).unwrap_err().to_string();
        assert!(!error.contains("very-secret"), "{error}");
    }

    #[test]
    fn credentials_come_from_the_environment_without_a_file() {
        // The only test that touches these variables.
        std::env::set_var("FWREPO_S3_ACCESS_KEY_ID", "GKenv");
        std::env::set_var("FWREPO_S3_SECRET_ACCESS_KEY", "env-secret");
        let loaded = S3Credentials::load(None).unwrap();
        assert_eq!(
            (
                loaded.access_key_id.as_str(),
                loaded.secret_access_key.as_str()
            ),
            ("GKenv", "env-secret")
        );
        std::env::remove_var("FWREPO_S3_SECRET_ACCESS_KEY");
        assert!(matches!(
            S3Credentials::load(None),
            Err(S3OpenError::NoCredentials)
        ));
        std::env::remove_var("FWREPO_S3_ACCESS_KEY_ID");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn opening_checks_the_bucket_and_the_key() {
        let cluster = start_cluster().await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s3.toml");
        let write = |secret: &str| {
            let text = format!(
                "access_key_id = \"{}\"\nsecret_access_key = \"{secret}\"\n",
                cluster.access_key_id()
            );
            std::fs::write(&file, text).unwrap();
        };
        let mut config = config(&cluster.s3_endpoint(), "");
        config.credentials_file = Some(file.clone());
        write(cluster.secret_access_key());
        S3BlobStore::open(&config)
            .await
            .expect("the right key opens");
        write("0000000000000000000000000000000000000000000000000000000000000000");
        assert!(matches!(
            S3BlobStore::open(&config).await,
            Err(S3OpenError::Bucket { .. })
        ));
        write(cluster.secret_access_key());
        config.bucket = Some("no-such-bucket".into());
        assert!(matches!(
            S3BlobStore::open(&config).await,
            Err(S3OpenError::Bucket { .. })
        ));
    }

    #[test]
    fn part_sizes_below_the_s3_minimum_are_refused() {
        let mut config = config("http://127.0.0.1:1", "");
        config.part_size_bytes = MIN_PART_SIZE - 1;
        let credentials = S3Credentials {
            access_key_id: "a".into(),
            secret_access_key: "b".into(),
        };
        assert!(matches!(
            S3BlobStore::connect(&config, &credentials),
            Err(S3OpenError::PartSize)
        ));
    }

    #[test]
    fn keys_classify_blobs_temporary_data_and_strays() {
        let keys = Keys::new("/repo/");
        let sha = Sha256Digest([0xab; 32]);
        assert_eq!(
            keys.blob(&sha).as_ref(),
            format!("repo/sha256/{}", sha.to_hex())
        );
        assert_eq!(keys.classify(&keys.blob(&sha)), Ok(sha));
        assert_eq!(keys.classify(&keys.new_temp()), Err(StrayKind::Temp));
        let upper = Path::from(format!("repo/sha256/{}", sha.to_hex().to_uppercase()));
        assert_eq!(keys.classify(&upper), Err(StrayKind::Misplaced));
        assert_eq!(
            keys.classify(&Path::from("repo/README")),
            Err(StrayKind::Misplaced)
        );
        assert_eq!(
            Keys::new("").blob(&sha).as_ref(),
            format!("sha256/{}", sha.to_hex())
        );
    }
}
