//! Filesystem backend: `<root>/sha256/ab/cd/<hex>`. A write goes to `<root>/tmp/` while a
//! blocking thread hashes (SHA-256 and BLAKE3) and writes it; `finish` fsyncs the file, links
//! it into place without clobbering (so a blob is never written twice) and fsyncs the
//! directory; every directory on the way (shards, their parents) is durable before that.
//! A crash leaves at most a temp file, which `open` clears at startup.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use sha2::Digest;
use tempfile::NamedTempFile;
use tokio::io::AsyncReadExt;

use super::{BlobReader, BlobStore, BlobWriter, BlobWritten, StoreError};
use crate::domain::Sha256Digest;

/// Chunks in flight between the network and the hashing/writing thread: bounds memory.
const CHANNEL_DEPTH: usize = 16;
/// Answers up to this size are read whole in the same blocking call that opens the file.
const SMALL_READ: u64 = 64 * 1024;

/// An opened blob: a small answer already read, or a positioned file and the bytes wanted.
enum Opened {
    Small(Vec<u8>),
    Large(File, u64),
}

/// Bytes between two writeback kicks of an upload's temp file.
const WRITEBACK_STEP: u64 = 8 * 1024 * 1024;

/// Write buffer of the writing thread.
const WRITE_BUFFER: usize = 1 << 20;

pub struct FsBlobStore {
    root: PathBuf,
    shards: Arc<DurableShards>,
}

impl FsBlobStore {
    /// Opens (creating) a store under `root` and deletes temp files a crash left behind.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        create_dir_durable(&root.join("sha256"))?;
        let tmp = root.join("tmp");
        if tmp.exists() {
            fs::remove_dir_all(&tmp)?;
        }
        fs::create_dir_all(&tmp)?;
        Ok(FsBlobStore {
            root,
            shards: Arc::new(DurableShards::new()),
        })
    }

    /// Where a blob lives: two levels of sharding keep directories small.
    pub fn blob_path(&self, sha256: &Sha256Digest) -> PathBuf {
        let hex = sha256.to_hex();
        self.root
            .join("sha256")
            .join(&hex[0..2])
            .join(&hex[2..4])
            .join(hex)
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }
}

struct Staged {
    file: NamedTempFile,
    sha256: Sha256Digest,
    blake3: String,
    length: u64,
}

/// What the network side sends the hashing thread.
enum Message {
    Chunk(Bytes),
    /// All bytes are sent: make the file durable. A channel closed without it means abort.
    End,
}

/// Writes every chunk received to the temp file while a second thread hashes the same chunks
/// (SHA-256 and BLAKE3), so hashing and writing overlap; runs on a blocking thread. Written
/// ranges are handed to the kernel for writeback as they fill, so the final fsync has little
/// left to do. On abort the temp file is dropped (deleted) without being synced.
fn hash_and_write(file: NamedTempFile, messages: Receiver<Message>) -> io::Result<Staged> {
    std::thread::scope(|scope| {
        let (to_hasher, hasher_input) = sync_channel::<Bytes>(CHANNEL_DEPTH);
        // SHA-256 is the slow hash: it gets its own thread; BLAKE3 (≈3× faster) runs beside
        // the writes, so the two threads carry about the same load.
        let hasher = scope.spawn(move || {
            let mut sha = sha2::Sha256::new();
            for chunk in hasher_input {
                sha.update(&chunk);
            }
            Sha256Digest(sha.finalize().into())
        });
        let mut blake = blake3::Hasher::new();
        let mut out = io::BufWriter::with_capacity(WRITE_BUFFER, file);
        let (mut length, mut flushed) = (0u64, 0u64);
        loop {
            match messages.recv() {
                Ok(Message::Chunk(chunk)) => {
                    length += chunk.len() as u64;
                    blake.update(&chunk);
                    out.write_all(&chunk)?;
                    if to_hasher.send(chunk).is_err() {
                        return Err(io::Error::other("hashing thread stopped"));
                    }
                    if length - flushed >= WRITEBACK_STEP {
                        out.flush()?;
                        start_writeback(out.get_ref().as_file(), flushed, length - flushed);
                        flushed = length;
                    }
                }
                Ok(Message::End) => break,
                Err(_) => return Err(io::Error::new(io::ErrorKind::Interrupted, "upload aborted")),
            }
        }
        drop(to_hasher);
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.as_file().sync_all()?;
        let sha256 = hasher
            .join()
            .map_err(|_| io::Error::other("hashing thread panicked"))?;
        let blake3 = blake.finalize().to_hex().to_string();
        Ok(Staged {
            file,
            sha256,
            blake3,
            length,
        })
    })
}

/// Asks the kernel to start writing a range back now (Linux `sync_file_range`), instead of
/// leaving all of it to the final fsync. Advisory: errors surface at that fsync.
fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    // SAFETY: a plain syscall on a file descriptor we own for the duration of the call.
    unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            offset as i64,
            len as i64,
            libc::SYNC_FILE_RANGE_WRITE,
        );
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates `dir` (and missing ancestors) and fsyncs the parent of each, whether this call
/// created it or found it: a directory another thread or an earlier, crashed process just
/// made may not be durable yet, and a blob inside it would vanish with it on power loss.
fn create_dir_durable(dir: &Path) -> io::Result<()> {
    let parent = dir.parent().expect("a blob store directory has a parent");
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            create_dir_durable(parent)?;
            match fs::create_dir(dir) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
                _ => {}
            }
        }
        Err(e) => return Err(e),
    }
    sync_dir(parent)
}

/// The shard directories (`ab` and `ab/cd` under `sha256/`) this process has made durable
/// with [`create_dir_durable`]: each costs its fsyncs once per process, not once per blob.
struct DurableShards {
    /// 256 bits for the first level, then 65,536 for the second.
    bits: Box<[AtomicU64]>,
}

impl DurableShards {
    fn new() -> Self {
        DurableShards {
            bits: (0..(256 + 65_536) / 64)
                .map(|_| AtomicU64::new(0))
                .collect(),
        }
    }

    fn is_set(&self, bit: usize) -> bool {
        self.bits[bit / 64].load(Ordering::Acquire) & (1 << (bit % 64)) != 0
    }

    fn set(&self, bit: usize) {
        self.bits[bit / 64].fetch_or(1 << (bit % 64), Ordering::Release);
    }

    /// Makes `root/ab` and `root/ab/cd` durable for a blob whose digest starts `ab cd`.
    fn ensure(&self, root: &Path, sha256: &Sha256Digest) -> io::Result<()> {
        let hex = sha256.to_hex();
        let (first, second) = (sha256.0[0] as usize, sha256.0[1] as usize);
        let levels = [
            (first, root.join(&hex[0..2])),
            (
                256 + first * 256 + second,
                root.join(&hex[0..2]).join(&hex[2..4]),
            ),
        ];
        for (bit, dir) in levels {
            if !self.is_set(bit) {
                create_dir_durable(&dir)?;
                self.set(bit);
            }
        }
        Ok(())
    }
}

/// Links the staged file under its name unless a blob of that name exists already.
/// The shard directory must be durable already ([`DurableShards::ensure`]).
fn publish(staged: Staged, target: PathBuf) -> io::Result<bool> {
    let dir = target.parent().expect("blob path has a parent");
    match staged.file.persist_noclobber(&target) {
        Ok(_) => {
            sync_dir(dir)?;
            Ok(true)
        }
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => {
            // Same name, same bytes: keep the old file, mark it fresh for the sweeper's grace.
            touch(&target)?;
            Ok(false)
        }
        Err(e) => Err(e.error),
    }
}

fn touch(path: &Path) -> io::Result<()> {
    File::options()
        .write(true)
        .open(path)?
        .set_modified(SystemTime::now())
}

pub struct FsBlobWriter {
    chunks: Option<SyncSender<Message>>,
    worker: Option<tokio::task::JoinHandle<io::Result<Staged>>>,
    target_for: PathBuf,
    shards: Arc<DurableShards>,
    written: u64,
}

impl FsBlobWriter {
    async fn worker_error(&mut self) -> StoreError {
        self.chunks = None;
        match self.worker.take() {
            Some(worker) => match worker.await {
                Ok(Err(e)) => StoreError::Io(e),
                Ok(Ok(_)) => StoreError::Io(io::Error::other("blob writer stopped early")),
                Err(e) => StoreError::Io(io::Error::other(e)),
            },
            None => StoreError::Io(io::Error::other("blob writer already failed")),
        }
    }
}

#[async_trait]
impl BlobWriter for FsBlobWriter {
    async fn write(&mut self, chunk: Bytes) -> Result<(), StoreError> {
        let len = chunk.len() as u64;
        let Some(sender) = self.chunks.clone() else {
            return Err(self.worker_error().await);
        };
        // A full channel means the disk is slower than the network: wait off the runtime.
        let sent = match sender.try_send(Message::Chunk(chunk)) {
            Ok(()) => true,
            Err(std::sync::mpsc::TrySendError::Full(message)) => {
                tokio::task::spawn_blocking(move || sender.send(message).is_ok())
                    .await
                    .unwrap_or(false)
            }
            Err(std::sync::mpsc::TrySendError::Disconnected(_)) => false,
        };
        if !sent {
            return Err(self.worker_error().await);
        }
        self.written += len;
        Ok(())
    }

    async fn finish(
        mut self: Box<Self>,
        expected: Option<Sha256Digest>,
    ) -> Result<BlobWritten, StoreError> {
        if let Some(sender) = self.chunks.take() {
            // The channel may be full: send the end marker off the runtime.
            tokio::task::spawn_blocking(move || sender.send(Message::End).ok())
                .await
                .map_err(|e| StoreError::Io(io::Error::other(e)))?;
        }
        let worker = self.worker.take().expect("finish called once");
        let staged = worker
            .await
            .map_err(|e| StoreError::Io(io::Error::other(e)))??;
        if let Some(expected) = expected {
            if expected != staged.sha256 {
                return Err(StoreError::DigestMismatch {
                    expected,
                    actual: staged.sha256,
                });
            }
        }
        let (sha256, blake3, length) = (staged.sha256, staged.blake3.clone(), staged.length);
        let hex = sha256.to_hex();
        let root = self.target_for.clone();
        let target = root.join(&hex[0..2]).join(&hex[2..4]).join(&hex);
        let shards = Arc::clone(&self.shards);
        let created = tokio::task::spawn_blocking(move || {
            shards.ensure(&root, &sha256)?;
            publish(staged, target)
        })
        .await
        .map_err(|e| StoreError::Io(io::Error::other(e)))??;
        Ok(BlobWritten {
            sha256,
            blake3,
            length,
            created,
        })
    }

    async fn abort(mut self: Box<Self>) {
        self.chunks = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.await;
        }
    }

    fn written(&self) -> u64 {
        self.written
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn begin(&self) -> Result<Box<dyn BlobWriter>, StoreError> {
        let file = NamedTempFile::new_in(self.tmp_dir())?;
        let (sender, receiver) = sync_channel(CHANNEL_DEPTH);
        let worker = tokio::task::spawn_blocking(move || hash_and_write(file, receiver));
        Ok(Box::new(FsBlobWriter {
            chunks: Some(sender),
            worker: Some(worker),
            target_for: self.root.join("sha256"),
            shards: Arc::clone(&self.shards),
            written: 0,
        }))
    }

    async fn open(
        &self,
        sha256: &Sha256Digest,
        range: Option<Range<u64>>,
    ) -> Result<BlobReader, StoreError> {
        let path = self.blob_path(sha256);
        let missing = *sha256;
        // One trip to the blocking pool opens, sizes and positions the file, and reads a
        // small answer whole (bounded by SMALL_READ, so memory stays flat).
        let opened = tokio::task::spawn_blocking(move || -> io::Result<Option<(Opened, u64)>> {
            let mut file = match File::open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e),
            };
            let total_length = file.metadata()?.len();
            let (start, end) = range.map(|r| (r.start, r.end)).unwrap_or((0, total_length));
            file.seek(SeekFrom::Start(start))?;
            let wanted = end.saturating_sub(start);
            if wanted <= SMALL_READ {
                let mut bytes = Vec::with_capacity(wanted as usize);
                (&mut file).take(wanted).read_to_end(&mut bytes)?;
                return Ok(Some((Opened::Small(bytes), total_length)));
            }
            Ok(Some((Opened::Large(file, wanted), total_length)))
        })
        .await
        .map_err(|e| StoreError::Io(io::Error::other(e)))??;
        let Some((opened, total_length)) = opened else {
            return Err(StoreError::NotFound(missing));
        };
        let reader: std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>> = match opened {
            Opened::Small(bytes) => Box::pin(std::io::Cursor::new(bytes)),
            Opened::Large(file, wanted) => Box::pin(tokio::fs::File::from_std(file).take(wanted)),
        };
        Ok(BlobReader {
            reader,
            total_length,
        })
    }

    async fn stat(&self, sha256: &Sha256Digest) -> Result<Option<u64>, StoreError> {
        match tokio::fs::metadata(self.blob_path(sha256)).await {
            Ok(meta) => Ok(Some(meta.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete(
        &self,
        sha256: &Sha256Digest,
        unless_touched_after: SystemTime,
    ) -> Result<bool, StoreError> {
        let path = self.blob_path(sha256);
        tokio::task::spawn_blocking(move || {
            let modified = match fs::metadata(&path) {
                Ok(meta) => meta.modified()?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
                Err(e) => return Err(e),
            };
            if modified > unless_touched_after {
                return Ok(false);
            }
            fs::remove_file(&path)?;
            sync_dir(path.parent().expect("blob path has a parent"))?;
            Ok(true)
        })
        .await
        .map_err(|e| StoreError::Io(io::Error::other(e)))?
        .map_err(StoreError::from)
    }

    async fn list(&self) -> Result<Vec<Sha256Digest>, StoreError> {
        let root = self.root.join("sha256");
        tokio::task::spawn_blocking(move || list_blobs(&root))
            .await
            .map_err(|e| StoreError::Io(io::Error::other(e)))?
            .map_err(StoreError::from)
    }
}

fn list_blobs(root: &Path) -> io::Result<Vec<Sha256Digest>> {
    let mut out = Vec::new();
    for level1 in fs::read_dir(root)? {
        for level2 in fs::read_dir(level1?.path())? {
            for entry in fs::read_dir(level2?.path())? {
                let name = entry?.file_name();
                if let Ok(digest) = Sha256Digest::parse_hex("blob", &name.to_string_lossy()) {
                    out.push(digest);
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Re-hashes a stored blob (SHA-256 and BLAKE3) from disk, for fsck.
pub fn rehash(path: &Path) -> io::Result<(Sha256Digest, String, u64)> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(0))?;
    let mut sha = sha2::Sha256::new();
    let mut blake = blake3::Hasher::new();
    let mut buffer = vec![0u8; WRITE_BUFFER];
    let mut length = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        sha.update(&buffer[..n]);
        blake.update(&buffer[..n]);
        length += n as u64;
    }
    Ok((
        Sha256Digest(sha.finalize().into()),
        blake.finalize().to_hex().to_string(),
        length,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn put(
        store: &FsBlobStore,
        bytes: &[u8],
        expected: Option<Sha256Digest>,
    ) -> Result<BlobWritten, StoreError> {
        let mut writer = store.begin().await?;
        for chunk in bytes.chunks(7) {
            writer.write(Bytes::copy_from_slice(chunk)).await?;
        }
        writer.finish(expected).await
    }

    fn tmp_is_empty(dir: &Path) -> bool {
        fs::read_dir(dir.join("tmp")).unwrap().next().is_none()
    }

    #[tokio::test]
    async fn stores_once_under_its_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let first = put(&store, b"firmware bytes", None).await.unwrap();
        let expected: [u8; 32] = sha2::Sha256::digest(b"firmware bytes").into();
        assert_eq!(first.sha256.0, expected);
        assert_eq!(
            first.blake3,
            blake3::hash(b"firmware bytes").to_hex().to_string()
        );
        assert!(first.created);
        let second = put(&store, b"firmware bytes", None).await.unwrap();
        assert!(!second.created);
        assert_eq!(store.list().await.unwrap(), vec![first.sha256]);
        assert_eq!(
            fs::read(store.blob_path(&first.sha256)).unwrap(),
            b"firmware bytes"
        );
        assert!(tmp_is_empty(dir.path()));
    }

    #[tokio::test]
    async fn digest_mismatch_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let wrong = Sha256Digest([7; 32]);
        let err = put(&store, b"abc", Some(wrong)).await.unwrap_err();
        assert!(matches!(err, StoreError::DigestMismatch { .. }));
        assert!(store.list().await.unwrap().is_empty());
        assert!(tmp_is_empty(dir.path()));
    }

    #[tokio::test]
    async fn dropped_writer_leaves_no_trace() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let mut writer = store.begin().await.unwrap();
        writer.write(Bytes::from_static(b"partial")).await.unwrap();
        writer.abort().await;
        assert!(store.list().await.unwrap().is_empty());
        assert!(
            tmp_is_empty(dir.path()),
            "abort returns once the temp file is gone"
        );
    }

    #[tokio::test]
    async fn ranges_and_grace_period() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let blob = put(&store, b"0123456789", None).await.unwrap();
        let mut part = store.open(&blob.sha256, Some(2..5)).await.unwrap();
        let mut buf = Vec::new();
        part.reader.read_to_end(&mut buf).await.unwrap();
        assert_eq!((buf.as_slice(), part.total_length), (&b"234"[..], 10));
        let long_ago = SystemTime::UNIX_EPOCH;
        assert!(
            !store.delete(&blob.sha256, long_ago).await.unwrap(),
            "fresh blob kept"
        );
        assert!(store
            .delete(
                &blob.sha256,
                SystemTime::now() + std::time::Duration::from_secs(1)
            )
            .await
            .unwrap());
        assert!(matches!(
            store.open(&blob.sha256, None).await,
            Err(StoreError::NotFound(_))
        ));
    }

    #[test]
    fn startup_clears_leftover_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("tmp")).unwrap();
        fs::write(dir.path().join("tmp/.tmpcrash"), b"half").unwrap();
        FsBlobStore::open(dir.path()).unwrap();
        assert!(tmp_is_empty(dir.path()));
    }
}
