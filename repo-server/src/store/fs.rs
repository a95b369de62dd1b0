//! Filesystem backend: `<root>/sha256/ab/cd/<hex>`. A write goes to a temp file in
//! `<root>/tmp/`, written by a blocking thread around the page cache (`direct_file.rs`; the
//! shared ingest path hashes beside it);
//! `commit` fsyncs the file, links it into place without clobbering (so a blob is never
//! written twice) and fsyncs the directory; every directory on the way (shards, their
//! parents) is durable before that. A crash leaves at most a temp file, which `open` clears.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt};
use tempfile::NamedTempFile;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

use super::direct_file::DirectFile;
use super::hashing::CHANNEL_DEPTH;
use super::{
    BlobBytes, BlobList, BlobReader, BlobStore, BlobWriter, Expected, StoreError, Stray, StrayKind,
};
use crate::domain::Sha256Digest;

/// Answers up to this size are read whole, on the event loop, when the file is opened.
const SMALL_READ: u64 = 64 * 1024;

/// Listed names in flight between the directory walk and its reader.
const LIST_DEPTH: usize = 256;

/// Opens a blob, sizes it and positions it at the start of `range`; an answer of at most
/// SMALL_READ bytes is read whole. `None` when the blob is absent.
fn open_positioned(path: &Path, range: Option<Range<u64>>) -> io::Result<Option<(Opened, u64)>> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let total_length = file.metadata()?.len();
    let (start, end) = range.map(|r| (r.start, r.end)).unwrap_or((0, total_length));
    if start > 0 {
        // A whole-blob read starts where the file does: no seek (it is one syscall more).
        file.seek(SeekFrom::Start(start))?;
    }
    let wanted = end.saturating_sub(start);
    if wanted <= SMALL_READ {
        let mut bytes = Vec::with_capacity(wanted as usize);
        (&mut file).take(wanted).read_to_end(&mut bytes)?;
        return Ok(Some((Opened::Small(bytes), total_length)));
    }
    Ok(Some((Opened::Large(file, wanted), total_length)))
}

/// An opened blob: a small answer already read, or a positioned file and the bytes wanted.
enum Opened {
    Small(Vec<u8>),
    Large(File, u64),
}

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
        Ok(Self::inspect(root))
    }

    /// A store under `root` as it is, creating and clearing nothing (offline checks).
    pub fn inspect(root: impl Into<PathBuf>) -> Self {
        FsBlobStore {
            root: root.into(),
            shards: Arc::new(DurableShards::new()),
        }
    }

    /// Where a blob lives: two levels of sharding keep directories small.
    pub fn blob_path(&self, sha256: &Sha256Digest) -> PathBuf {
        let hex = sha256.to_hex();
        // One allocation for the whole path (it is built on every download).
        let mut path = PathBuf::with_capacity(self.root.as_os_str().len() + 80);
        path.push(&self.root);
        path.push("sha256");
        path.push(&hex[0..2]);
        path.push(&hex[2..4]);
        path.push(hex);
        path
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Hard-links `source`'s blob into this store (blocking). Blobs are immutable files, so
    /// two stores may share one; the link is durable when this returns. Answers false when
    /// the blob was here already. Fails (e.g. across filesystems) without leaving anything:
    /// the caller then copies the bytes through the ingest path.
    pub fn link_from(&self, source: &FsBlobStore, sha256: &Sha256Digest) -> io::Result<bool> {
        let target = self.blob_path(sha256);
        self.shards.ensure(&self.root.join("sha256"), sha256)?;
        match fs::hard_link(source.blob_path(sha256), &target) {
            Ok(()) => {
                sync_dir(target.parent().expect("blob path has a parent"))?;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// What the network side sends the writing thread.
enum Message {
    Chunk(Bytes),
    /// All bytes are sent: make the file durable. A channel closed without it means abort.
    End,
}

/// Writes every chunk received to the temp file; runs on a blocking thread. On abort the
/// temp file is dropped (deleted) without being synced.
fn write_file(
    mut file: DirectFile,
    mut messages: mpsc::Receiver<Message>,
) -> io::Result<NamedTempFile> {
    loop {
        match messages.blocking_recv() {
            Some(Message::Chunk(chunk)) => file.write_all(&chunk)?,
            Some(Message::End) => return file.finish(),
            None => return Err(io::Error::new(io::ErrorKind::Interrupted, "write aborted")),
        }
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

/// Links the durable temp file under its name unless a blob of that name exists already
/// (same name, same bytes: the old file stays). The shard directory must be durable already
/// ([`DurableShards::ensure`]).
fn publish(file: NamedTempFile, target: PathBuf) -> io::Result<bool> {
    let dir = target.parent().expect("blob path has a parent");
    match file.persist_noclobber(&target) {
        Ok(_) => {
            sync_dir(dir)?;
            Ok(true)
        }
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e.error),
    }
}

pub struct FsBlobWriter {
    chunks: Option<mpsc::Sender<Message>>,
    worker: Option<tokio::task::JoinHandle<io::Result<NamedTempFile>>>,
    sha_root: PathBuf,
    shards: Arc<DurableShards>,
}

impl FsBlobWriter {
    /// Why the writing thread stopped early.
    async fn worker_error(&mut self) -> StoreError {
        self.chunks = None;
        match self.worker.take() {
            Some(worker) => match worker.await {
                Ok(Err(e)) => StoreError::Io(e),
                Ok(Ok(_)) => StoreError::internal("blob writer stopped early"),
                Err(e) => StoreError::internal(e),
            },
            None => StoreError::internal("blob writer already failed"),
        }
    }
}

#[async_trait]
impl BlobWriter for FsBlobWriter {
    async fn write(&mut self, chunk: Bytes) -> Result<(), StoreError> {
        let sent = match &self.chunks {
            Some(sender) => sender.send(Message::Chunk(chunk)).await.is_ok(),
            None => false,
        };
        if !sent {
            return Err(self.worker_error().await);
        }
        Ok(())
    }

    async fn commit(mut self: Box<Self>, sha256: &Sha256Digest) -> Result<bool, StoreError> {
        if let Some(sender) = self.chunks.take() {
            // A closed channel means the writer failed: its error is awaited below.
            let _ = sender.send(Message::End).await;
        }
        let worker = self.worker.take().expect("commit called once");
        let file = worker.await.map_err(StoreError::internal)??;
        let hex = sha256.to_hex();
        let root = self.sha_root.clone();
        let target = root.join(&hex[0..2]).join(&hex[2..4]).join(&hex);
        let shards = Arc::clone(&self.shards);
        let sha256 = *sha256;
        Ok(tokio::task::spawn_blocking(move || {
            shards.ensure(&root, &sha256)?;
            publish(file, target)
        })
        .await
        .map_err(StoreError::internal)??)
    }

    async fn abort(mut self: Box<Self>) {
        self.chunks = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.await;
        }
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn begin(&self, expected: &Expected) -> Result<Box<dyn BlobWriter>, StoreError> {
        let file = DirectFile::create_in(&self.tmp_dir(), expected.length)?;
        let (sender, receiver) = mpsc::channel(CHANNEL_DEPTH);
        let worker = tokio::task::spawn_blocking(move || write_file(file, receiver));
        Ok(Box::new(FsBlobWriter {
            chunks: Some(sender),
            worker: Some(worker),
            sha_root: self.root.join("sha256"),
            shards: Arc::clone(&self.shards),
        }))
    }

    async fn open(
        &self,
        sha256: &Sha256Digest,
        range: Option<Range<u64>>,
    ) -> Result<BlobReader, StoreError> {
        // Opening, sizing and reading a small answer are page-cache syscalls of microseconds,
        // made on the event loop (as nginx reads in its own): a trip to the blocking pool
        // costs a thread wake-up that is most of a small download's time. A page-cache miss
        // stalls one loop for one read of at most SMALL_READ bytes; large reads stream
        // through tokio's file, off the loop.
        let Some((opened, total_length)) = open_positioned(&self.blob_path(sha256), range)? else {
            return Err(StoreError::NotFound(*sha256));
        };
        let reader = match opened {
            Opened::Small(bytes) => BlobBytes::in_memory(bytes),
            Opened::Large(file, wanted) => {
                BlobBytes::streamed(tokio::fs::File::from_std(file).take(wanted))
            }
        };
        Ok(BlobReader {
            reader,
            total_length,
        })
    }

    async fn stat(&self, sha256: &Sha256Digest) -> Result<Option<u64>, StoreError> {
        // One metadata syscall, on the event loop for the reason given in `open`.
        match std::fs::metadata(self.blob_path(sha256)) {
            Ok(meta) => Ok(Some(meta.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete(&self, sha256: &Sha256Digest) -> Result<bool, StoreError> {
        let path = self.blob_path(sha256);
        tokio::task::spawn_blocking(move || {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
                Err(e) => return Err(e),
            }
            sync_dir(path.parent().expect("blob path has a parent"))?;
            Ok(true)
        })
        .await
        .map_err(StoreError::internal)?
        .map_err(StoreError::from)
    }

    fn list(&self) -> BlobList<'_> {
        let sha_root = self.root.join("sha256");
        walk_stream(move |emit| {
            walk_sha_root(&sha_root, &mut |entry| match entry {
                Entry::Blob(sha) => emit(sha),
                Entry::Stray(_) => true,
            })
        })
    }

    fn strays(&self) -> BoxStream<'_, Result<Stray, StoreError>> {
        let (sha_root, tmp) = (self.root.join("sha256"), self.tmp_dir());
        walk_stream(move |emit| {
            let mut temp = |path: PathBuf| emit(stray(path, StrayKind::Temp));
            if !walk_files(&tmp, &mut temp)? {
                return Ok(false);
            }
            walk_sha_root(&sha_root, &mut |entry| match entry {
                Entry::Blob(_) => true,
                Entry::Stray(path) => emit(stray(path, StrayKind::Misplaced)),
            })
        })
    }

    async fn remove_stray(&self, stray: &Stray) -> Result<(), StoreError> {
        let path = PathBuf::from(&stray.name);
        if !path.starts_with(&self.root) {
            return Err(StoreError::internal(format!(
                "{} is not in the blob store",
                stray.name
            )));
        }
        Ok(tokio::fs::remove_file(path).await?)
    }
}

fn stray(path: PathBuf, kind: StrayKind) -> Stray {
    Stray {
        name: path.display().to_string(),
        kind,
    }
}

/// Runs a directory walk on the blocking pool and streams what it emits through a bounded
/// channel: memory stays flat however many files there are. `emit` answers false once the
/// reader is gone, and the walk stops.
fn walk_stream<T: Send + 'static>(
    walk: impl FnOnce(&mut dyn FnMut(T) -> bool) -> io::Result<bool> + Send + 'static,
) -> BoxStream<'static, Result<T, StoreError>> {
    let (sender, receiver) = tokio::sync::mpsc::channel(LIST_DEPTH);
    tokio::task::spawn_blocking(move || {
        let walked = walk(&mut |item| sender.blocking_send(Ok(item)).is_ok());
        if let Err(error) = walked {
            let _ = sender.blocking_send(Err(StoreError::Io(error)));
        }
    });
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    })
    .boxed()
}

/// What the walk of `sha256/` finds: a blob at its place, or any other file.
enum Entry {
    Blob(Sha256Digest),
    Stray(PathBuf),
}

/// A directory's entries sorted by name (a shard holds few), or none when it is missing.
fn sorted_entries(dir: &Path) -> io::Result<Vec<fs::DirEntry>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut entries = entries.collect::<io::Result<Vec<_>>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    Ok(entries)
}

fn is_shard_name(name: &str) -> bool {
    name.len() == 2 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Walks `sha256/ab/cd/<hex>` in name order (so blobs come sorted); answers false when
/// `visit` asked to stop.
fn walk_sha_root(root: &Path, visit: &mut dyn FnMut(Entry) -> bool) -> io::Result<bool> {
    walk_level(root, "", visit)
}

/// One level of the walk below `prefix` (the shard names so far: "", "ab", "abcd").
fn walk_level(dir: &Path, prefix: &str, visit: &mut dyn FnMut(Entry) -> bool) -> io::Result<bool> {
    for entry in sorted_entries(dir)? {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type()?.is_dir();
        let keep_going = match (prefix.len(), is_dir) {
            (0 | 2, true) if is_shard_name(&name) => {
                walk_level(&path, &format!("{prefix}{name}"), visit)?
            }
            (4, false) => match Sha256Digest::parse_hex("blob", &name) {
                Ok(sha) if sha.to_hex() == name && name.starts_with(prefix) => {
                    visit(Entry::Blob(sha))
                }
                _ => visit(Entry::Stray(path)),
            },
            (_, true) => walk_files(&path, &mut |file| visit(Entry::Stray(file)))?,
            (_, false) => visit(Entry::Stray(path)),
        };
        if !keep_going {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Every file under `dir`, at any depth; answers false when `visit` asked to stop.
fn walk_files(dir: &Path, visit: &mut dyn FnMut(PathBuf) -> bool) -> io::Result<bool> {
    for entry in sorted_entries(dir)? {
        let keep_going = if entry.file_type()?.is_dir() {
            walk_files(&entry.path(), visit)?
        } else {
            visit(entry.path())
        };
        if !keep_going {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::TryStreamExt;

    fn temp_files(dir: &Path) -> usize {
        fs::read_dir(dir.join("tmp")).unwrap().count()
    }

    #[tokio::test]
    async fn fs_backend_passes_the_conformance_suite() {
        let dir = tempfile::tempdir().unwrap();
        let parent = dir.path().to_path_buf();
        let counter = AtomicU64::new(0);
        super::super::conformance::run_all(move || {
            let root = parent.join(counter.fetch_add(1, Ordering::Relaxed).to_string());
            let store: Arc<dyn BlobStore> = Arc::new(FsBlobStore::open(root).unwrap());
            std::future::ready(store)
        })
        .await;
    }

    #[tokio::test]
    async fn blobs_live_at_their_shard_path() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let mut ingest = super::super::Ingest::begin(&store, Expected::default())
            .await
            .unwrap();
        ingest
            .write(Bytes::from_static(b"firmware bytes"))
            .await
            .unwrap();
        let written = ingest.finish().await.unwrap();
        let hex = written.sha256.to_hex();
        let path = dir
            .path()
            .join("sha256")
            .join(&hex[0..2])
            .join(&hex[2..4])
            .join(&hex);
        assert_eq!(store.blob_path(&written.sha256), path);
        assert_eq!(fs::read(&path).unwrap(), b"firmware bytes");
        assert_eq!(temp_files(dir.path()), 0);
    }

    #[tokio::test]
    async fn strays_are_temp_files_and_misplaced_files_never_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let mut ingest = super::super::Ingest::begin(&store, Expected::default())
            .await
            .unwrap();
        ingest.write(Bytes::from_static(b"a blob")).await.unwrap();
        let blob = ingest.finish().await.unwrap().sha256;
        let hex = blob.to_hex();
        fs::write(dir.path().join("tmp/.tmp-half"), b"half").unwrap();
        fs::write(dir.path().join("sha256/README"), b"not a blob").unwrap();
        // A blob's name in the wrong shard is not that blob.
        let wrong_shard = dir.path().join("sha256/00/00");
        fs::create_dir_all(&wrong_shard).unwrap();
        fs::write(wrong_shard.join(&hex), b"a blob").unwrap();
        let strays: Vec<Stray> = store.strays().try_collect().await.unwrap();
        let mut found: Vec<(StrayKind, String)> = strays
            .iter()
            .map(|s| (s.kind, s.name.rsplit('/').next().unwrap().to_string()))
            .collect();
        found.sort_by(|a, b| a.1.cmp(&b.1));
        assert_eq!(
            found,
            vec![
                (StrayKind::Temp, ".tmp-half".to_string()),
                (StrayKind::Misplaced, hex),
                (StrayKind::Misplaced, "README".to_string()),
            ]
        );
        let listed: Vec<Sha256Digest> = store.list().try_collect().await.unwrap();
        assert_eq!(listed, vec![blob]);
        let temp = strays.iter().find(|s| s.kind == StrayKind::Temp).unwrap();
        store.remove_stray(temp).await.unwrap();
        assert_eq!(temp_files(dir.path()), 0);
    }

    #[tokio::test]
    async fn fs_presigns_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let url = store
            .presign(&Sha256Digest([1; 32]), std::time::Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(url, None, "downloads from fs go through the server");
    }

    #[test]
    fn startup_clears_leftover_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("tmp")).unwrap();
        fs::write(dir.path().join("tmp/.tmpcrash"), b"half").unwrap();
        FsBlobStore::open(dir.path()).unwrap();
        assert_eq!(temp_files(dir.path()), 0);
    }

    #[tokio::test]
    async fn inspecting_a_store_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("tmp")).unwrap();
        fs::write(dir.path().join("tmp/.tmpcrash"), b"half").unwrap();
        let store = FsBlobStore::inspect(dir.path());
        assert_eq!(store.strays().count().await, 1);
        assert!(!dir.path().join("sha256").exists());
        assert_eq!(temp_files(dir.path()), 1);
    }
}
