//! RocksDB metadata: one column family per record kind plus secondary indexes, so that tag
//! filters, exists checks and (type, versionNumber) lookups never scan the whole pool.
//! Every read-check-write runs under one writer lock and commits as one WriteBatch, so a
//! record, its indexes and its reference counts change together or not at all; the WAL sync
//! happens after the lock is released, shared by the writers behind it (group commit).
//! Knows nothing of HTTP; answers domain records.

pub mod actions;
pub mod audit;
pub mod auth;
pub mod backfill;
mod backup;
pub mod blobs;
pub mod browse;
mod codec;
pub mod collections;
mod count_merge;
pub mod counts;
pub mod ddi;
pub mod deletion;
pub mod devices;
mod expiry;
mod group_commit;
pub use group_commit::defer_syncs;
mod writer_thread;
pub use writer_thread::{WriteFailed, WriterThread};
pub mod images;
pub mod keys;
pub mod lists;
pub mod pool;
mod pool_search;
pub mod retention;
pub mod sessions;
pub mod signatures;
pub mod stats;
pub mod trust;
pub mod types;
mod usage;
pub mod users;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rocksdb::{
    ColumnFamily, ColumnFamilyDescriptor, Direction, IteratorMode, Options, WriteBatch,
    WriteOptions, DB,
};
use serde::{de::DeserializeOwned, Serialize};

use crate::domain::ConflictKind;
use keys::*;

#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A record with that identity exists already.
    #[error("{0}")]
    Conflict(String),
    /// The change contradicts the current state in another way (see [`ConflictKind`]).
    #[error("{1}")]
    StateConflict(ConflictKind, String),
    /// The request cannot be served as asked (e.g. too deep a page of a record sort).
    #[error("{0}")]
    Invalid(String),
    /// A delete refused: what uses the record.
    #[error("{}", .0.summary("the record"))]
    InUse(Box<crate::domain::usage::InUse>),
    #[error("metadata store: {0}")]
    Rocks(#[from] rocksdb::Error),
    #[error("corrupt record in {cf}: {reason}")]
    Corrupt { cf: &'static str, reason: String },
    /// The thread running a shared WAL sync stopped (it panicked) before the sync finished:
    /// the writes it covered are not known to be durable.
    #[error("the WAL sync stopped before it finished")]
    SyncStopped(#[source] tokio::task::JoinError),
    /// The sync thread's WAL sync panicked: the writes it covered are not known to be durable.
    #[error("the WAL sync panicked before it finished")]
    SyncPanicked,
}

pub type MetaResult<T> = Result<T, MetaError>;

/// A count that would drop below zero: the records disagree with their counters. Never
/// clamped (that hides the damage and lets a blob be swept while held); logged, counted in
/// `fwrepo_meta_corruption_total`, and the commit is refused. `fsck` finds and repairs it.
fn count_underflow(cf: &'static str, subject: &str, current: u64, delta: i64) -> MetaError {
    metrics::counter!("fwrepo_meta_corruption_total", "cf" => cf).increment(1);
    tracing::error!(
        cf,
        subject,
        current,
        delta,
        "a count would drop below zero; run fwrepo-server fsck"
    );
    MetaError::Corrupt {
        cf,
        reason: format!("the count of {subject} is {current} and cannot change by {delta}"),
    }
}

/// A `WriteBatch` plus the blob records it has staged: a later step of the same commit
/// reads them back instead of the committed state, so two reference changes to one blob in
/// one batch both count.
#[derive(Default)]
pub(crate) struct StagedBatch {
    batch: WriteBatch,
    blobs: std::collections::HashMap<crate::domain::Sha256Digest, crate::domain::BlobRecord>,
}

impl std::ops::Deref for StagedBatch {
    type Target = WriteBatch;
    fn deref(&self) -> &WriteBatch {
        &self.batch
    }
}

impl std::ops::DerefMut for StagedBatch {
    fn deref_mut(&mut self) -> &mut WriteBatch {
        &mut self.batch
    }
}

impl From<StagedBatch> for WriteBatch {
    fn from(staged: StagedBatch) -> WriteBatch {
        staged.batch
    }
}

/// Proof that the writer lock is held; [`MetaStore::commit`] consumes it.
struct WriterGuard<'a> {
    _held: MutexGuard<'a, ()>,
}

pub struct MetaStore {
    db: DB,
    block_cache: rocksdb::Cache,
    writer: Mutex<()>,
    group_commit: group_commit::GroupCommit,
    durability: group_commit::AsyncDurability,
    sync_writes: bool,
}

impl MetaStore {
    /// Opens (creating) the database. `sync_writes` fsyncs the WAL on every commit, so an
    /// answered write survives power loss, not only a process crash.
    pub fn open(path: &Path, sync_writes: bool) -> MetaResult<Self> {
        Self::open_with_cache(path, sync_writes, DEFAULT_BLOCK_CACHE_MIB)
    }

    /// Opens with a block cache of `cache_mib` MiB (the `metadata_cache_mib` setting).
    pub fn open_with_cache(path: &Path, sync_writes: bool, cache_mib: u64) -> MetaResult<Self> {
        // One block cache for all column families, and the memtables charged to it: RocksDB's
        // memory has one bound, not one per family, and it does not grow with the pool. Once
        // the cache is full, memtables filling evict blocks instead of adding to the total.
        let cache = new_block_cache(cache_mib);
        let memtables = rocksdb::WriteBufferManager::new_write_buffer_manager_with_cache(
            memtable_budget(mib_bytes(cache_mib)),
            false,
            cache.clone(),
        );
        let mut options = cf_options(&cache);
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.increase_parallelism(2);
        // With syncs on, every commit is synced before it is answered (a group sync or its
        // own), and that sync writes the WAL buffer out: a commit makes no write call of its
        // own on the writer thread. A commit seen but not yet answered may then be lost to a
        // crash of the process, as it may to a power loss with or without this. Without
        // syncs, each commit's WAL record goes to the file at once, so an answered write
        // survives a crash of the process.
        options.set_manual_wal_flush(sync_writes);
        options.set_write_buffer_manager(&memtables);
        let retired = retired_families_present(&options, path);
        let mut families = descriptors(&cache);
        families.extend(
            retired
                .iter()
                .map(|name| ColumnFamilyDescriptor::new(*name, cf_options(&cache))),
        );
        let mut db = DB::open_cf_descriptors(&options, path, families)?;
        for name in retired {
            db.drop_cf(name)?;
        }
        let store = MetaStore {
            db,
            block_cache: cache,
            writer: Mutex::new(()),
            group_commit: Default::default(),
            durability: Default::default(),
            sync_writes,
        };
        store.backfill_missing_indexes()?;
        Ok(store)
    }

    fn cf(&self, name: &'static str) -> &ColumnFamily {
        self.db
            .cf_handle(name)
            .expect("every column family is created at open")
    }

    /// Serialises read-check-write sequences (uniqueness checks, counters). Held until
    /// [`MetaStore::commit`], which consumes it.
    fn lock(&self) -> WriterGuard<'_> {
        WriterGuard {
            _held: self
                .writer
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        }
    }

    /// Commits a batch staged under `guard`. The batch is written (and visible) under the
    /// lock, the lock is released, and only then is the WAL synced: writers queued behind the
    /// lock write their batches while this one waits for the disk, and one fsync makes all of
    /// them durable (a group commit). A caller answers only after the sync, so an answered
    /// write survives power loss; a write another request saw before the sync may not.
    fn commit(&self, guard: WriterGuard<'_>, batch: impl Into<WriteBatch>) -> MetaResult<()> {
        let mut batch = batch.into();
        self.stage_audit(&mut batch);
        self.db.write_opt(batch, &WriteOptions::default())?;
        let written = self.db.latest_sequence_number();
        drop(guard);
        if self.sync_writes && !group_commit::deferred(written) {
            self.group_commit.wait_durable(&self.db, written)?;
        }
        Ok(())
    }

    /// Commits a batch that needs no read-check-write (blind puts): RocksDB groups
    /// concurrent synced writes of this kind itself.
    fn commit_alone(&self, batch: impl Into<WriteBatch>) -> MetaResult<()> {
        let mut batch = batch.into();
        self.stage_audit(&mut batch);
        let mut options = WriteOptions::default();
        let defer = self.sync_writes && group_commit::deferring();
        options.set_sync(self.sync_writes && !defer);
        self.db.write_opt(batch, &options)?;
        if defer {
            group_commit::deferred(self.db.latest_sequence_number());
        }
        Ok(())
    }

    fn get<T: DeserializeOwned>(&self, cf: &'static str, key: &[u8]) -> MetaResult<Option<T>> {
        match self.db.get_pinned_cf(self.cf(cf), key)? {
            Some(bytes) => codec::decode(cf, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// The records under `keys`, in their order, read in one `multi_get`; a missing one is
    /// corruption (an index names it).
    fn get_many<T: DeserializeOwned>(
        &self,
        cf: &'static str,
        keys: impl IntoIterator<Item = Vec<u8>>,
    ) -> MetaResult<Vec<T>> {
        let handle = self.cf(cf);
        let found = self
            .db
            .multi_get_cf(keys.into_iter().map(|key| (handle, key)));
        found
            .into_iter()
            .map(|value| match value? {
                Some(bytes) => codec::decode(cf, &bytes),
                None => Err(MetaError::Corrupt {
                    cf,
                    reason: "index names a missing record".into(),
                }),
            })
            .collect()
    }

    fn exists(&self, cf: &'static str, key: &[u8]) -> MetaResult<bool> {
        Ok(self.db.get_pinned_cf(self.cf(cf), key)?.is_some())
    }

    fn get_u64(&self, cf: &'static str, key: &[u8]) -> MetaResult<Option<u64>> {
        match self.db.get_pinned_cf(self.cf(cf), key)? {
            Some(bytes) => codec::decode_u64(cf, &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn put<T: Serialize>(&self, batch: &mut WriteBatch, cf: &'static str, key: &[u8], value: &T) {
        batch.put_cf(self.cf(cf), key, codec::encode(value));
    }

    fn put_u64(&self, batch: &mut WriteBatch, cf: &'static str, key: &[u8], n: u64) {
        batch.put_cf(self.cf(cf), key, codec::encode_u64(n));
    }

    /// Adds `delta` to the count at `key` without reading it (a family with
    /// [`count_merge`]'s operator).
    fn merge_add(&self, batch: &mut WriteBatch, cf: &'static str, key: &[u8], delta: u64) {
        batch.merge_cf(self.cf(cf), key, codec::encode_u64(delta));
    }

    fn delete(&self, batch: &mut WriteBatch, cf: &'static str, key: &[u8]) {
        batch.delete_cf(self.cf(cf), key);
    }

    /// Keys (and values) under `prefix`, in key order.
    fn scan_prefix(
        &self,
        cf: &'static str,
        prefix: &[u8],
    ) -> impl Iterator<Item = MetaResult<(Box<[u8]>, Box<[u8]>)>> + '_ {
        let prefix = prefix.to_vec();
        self.db
            .iterator_cf(self.cf(cf), IteratorMode::From(&prefix, Direction::Forward))
            .map(|item| item.map_err(MetaError::from))
            .take_while(move |item| match item {
                Ok((key, _)) => key.starts_with(&prefix),
                Err(_) => true,
            })
    }

    /// Keys (and values) under `prefix`, forward or backward in key order. The iterator is
    /// bounded to the prefix, so a backward scan starts at its last key without a seek past it.
    fn scan_prefix_directed(
        &self,
        cf: &'static str,
        prefix: &[u8],
        direction: Direction,
    ) -> impl Iterator<Item = MetaResult<(Box<[u8]>, Box<[u8]>)>> + '_ {
        self.scan_range(cf, prefix.to_vec(), prefix_end(prefix), direction)
    }

    /// Keys (and values) from `lower` (inclusive) to `upper` (exclusive, or the end).
    fn scan_range(
        &self,
        cf: &'static str,
        lower: Vec<u8>,
        upper: Option<Vec<u8>>,
        direction: Direction,
    ) -> impl Iterator<Item = MetaResult<(Box<[u8]>, Box<[u8]>)>> + '_ {
        let mut options = rocksdb::ReadOptions::default();
        options.set_iterate_lower_bound(lower);
        if let Some(upper) = upper {
            options.set_iterate_upper_bound(upper);
        }
        let mode = match direction {
            Direction::Forward => IteratorMode::Start,
            Direction::Reverse => IteratorMode::End,
        };
        self.db
            .iterator_cf_opt(self.cf(cf), options, mode)
            .map(|item| item.map_err(MetaError::from))
    }

    /// Values under `prefix`, decoded.
    fn scan_values<T: DeserializeOwned>(
        &self,
        cf: &'static str,
        prefix: &[u8],
    ) -> MetaResult<Vec<T>> {
        self.scan_prefix(cf, prefix)
            .map(|item| item.and_then(|(_, value)| codec::decode(cf, &value)))
            .collect()
    }

    /// Ids at the end of the index keys under `prefix`, in key order.
    fn scan_ids(&self, cf: &'static str, prefix: &[u8]) -> MetaResult<Vec<u64>> {
        self.scan_prefix(cf, prefix)
            .map(|item| item.map(|(key, _)| trailing_u64(&key)))
            .collect()
    }

    /// Ids stored as the values of the index keys under `prefix`, in key order.
    fn scan_ids_from_values(&self, cf: &'static str, prefix: &[u8]) -> MetaResult<Vec<u64>> {
        self.scan_prefix(cf, prefix)
            .map(|item| item.and_then(|(_, value)| codec::decode_u64(cf, &value)))
            .collect()
    }

    /// The sum of the counts stored under `prefix`.
    fn sum_counts(&self, cf: &'static str, prefix: &[u8]) -> MetaResult<u64> {
        self.scan_prefix(cf, prefix)
            .map(|item| item.and_then(|(_, value)| codec::decode_u64(cf, &value)))
            .sum()
    }

    /// Next value of a counter, staged in `batch` (call under the writer lock).
    fn next_counter(&self, batch: &mut WriteBatch, key: &[u8]) -> MetaResult<u64> {
        self.next_counter_where(batch, key, |_| Ok(true))
    }

    /// Reserves `n` consecutive values of a counter; answers the first. Staged in `batch`;
    /// call under the writer lock.
    fn next_counters(&self, batch: &mut WriteBatch, key: &[u8], n: u64) -> MetaResult<u64> {
        let first = self.get_u64(CF_COUNTERS, key)?.unwrap_or(0) + 1;
        self.put_u64(batch, CF_COUNTERS, key, first + n.max(1) - 1);
        Ok(first)
    }

    /// Next value of a counter that `free` accepts, skipping the ones it refuses (e.g. ids a
    /// client already chose itself). Staged in `batch`; call under the writer lock.
    fn next_counter_where(
        &self,
        batch: &mut WriteBatch,
        key: &[u8],
        free: impl Fn(u64) -> MetaResult<bool>,
    ) -> MetaResult<u64> {
        let mut next = self.get_u64(CF_COUNTERS, key)?.unwrap_or(0) + 1;
        while !free(next)? {
            next += 1;
        }
        self.put_u64(batch, CF_COUNTERS, key, next);
        Ok(next)
    }

    /// A creation time that never goes backwards, even if the wall clock does, so time order
    /// and id order agree (call under the writer lock).
    fn next_timestamp(&self, batch: &mut WriteBatch, now_ms: u64) -> MetaResult<u64> {
        let last = self.get_u64(CF_COUNTERS, &clock_counter())?.unwrap_or(0);
        let stamp = now_ms.max(last);
        self.put_u64(batch, CF_COUNTERS, &clock_counter(), stamp);
        Ok(stamp)
    }

    /// What RocksDB holds in memory. The block cache grows to its capacity
    /// (`metadata_cache_mib`) as data is read and written, so a process's RSS climbs by that
    /// much before it is warm; the memtables are charged to it, so `block_cache` counts them
    /// too (`memtables` tells their share). The table readers (one per open table file,
    /// their index and filter blocks being in the cache) follow the file count.
    pub fn memory(&self) -> RocksMemory {
        let sum_over_families = |property: &str| -> u64 {
            family_names()
                .filter_map(|name| {
                    self.db
                        .property_int_value_cf(self.cf(name), property)
                        .ok()
                        .flatten()
                })
                .sum()
        };
        RocksMemory {
            block_cache: self.block_cache.get_usage() as u64,
            memtables: sum_over_families("rocksdb.cur-size-all-mem-tables"),
            table_readers: sum_over_families("rocksdb.estimate-table-readers-mem"),
        }
    }

    /// Writes a consistent on-line backup (RocksDB checkpoint) into `dir`.
    pub fn checkpoint(&self, dir: &Path) -> MetaResult<()> {
        rocksdb::checkpoint::Checkpoint::new(&self.db)?.create_checkpoint(dir)?;
        Ok(())
    }
}

/// Bytes RocksDB holds in memory, by holder ([`MetaStore::memory`]).
#[derive(Clone, Copy, Debug)]
pub struct RocksMemory {
    pub block_cache: u64,
    pub memtables: u64,
    pub table_readers: u64,
}

/// Default MiB of the block cache all column families share (`metadata_cache_mib`).
pub const DEFAULT_BLOCK_CACHE_MIB: u64 = 32;
/// All memtables together, at most: a family's memtable is flushed early when the total
/// reaches it.
const MEMTABLE_BUDGET_BYTES: usize = 16 * 1024 * 1024;

/// The memtables' share of a block cache of `cache_bytes`: at most half of it, so a small
/// cache still keeps blocks while the memtables are full.
fn memtable_budget(cache_bytes: usize) -> usize {
    MEMTABLE_BUDGET_BYTES.min(cache_bytes / 2)
}
/// One family's memtable: small records, many families. A flush frees the memtable before
/// reads refill the cache share it held, so RSS dips by what flushes at once (the busiest
/// families fill together): 1 MiB keeps that dip near 1.5 MiB instead of 3 under a steady
/// mixed load, at no cost to 64 concurrent writers that a bench could measure.
const MEMTABLE_BYTES: usize = 1024 * 1024;

/// Every column family the database has, RocksDB's `default` one included.
fn family_names() -> impl Iterator<Item = &'static str> {
    std::iter::once(rocksdb::DEFAULT_COLUMN_FAMILY_NAME).chain(ALL_CFS.iter().copied())
}

/// Every column family on the shared cache. The default family is named too: left out,
/// RocksDB would open it with default options and a block cache of its own, outside the budget.
fn descriptors(cache: &rocksdb::Cache) -> Vec<ColumnFamilyDescriptor> {
    family_names()
        .map(|name| {
            let mut options = cf_options(cache);
            if name == CF_TAG_TYPE_COUNTS {
                count_merge::add_u64_merges(&mut options);
            }
            ColumnFamilyDescriptor::new(name, options)
        })
        .collect()
}

/// Families an older version kept and this one neither reads nor writes (`tag_counts`: a
/// tag's count is the sum of its per-type counts). RocksDB opens a database only with every
/// family it holds named, so these are opened when present and then dropped.
const RETIRED_CFS: &[&str] = &["tag_counts"];

/// The retired families the database at `path` still holds (none when it does not exist yet).
fn retired_families_present(options: &Options, path: &Path) -> Vec<&'static str> {
    let held = DB::list_cf(options, path).unwrap_or_default();
    RETIRED_CFS
        .iter()
        .copied()
        .filter(|name| held.iter().any(|held| held == name))
        .collect()
}

/// The block cache all families share, of `mib` MiB.
fn new_block_cache(mib: u64) -> rocksdb::Cache {
    rocksdb::Cache::new_lru_cache(mib_bytes(mib))
}

fn mib_bytes(mib: u64) -> usize {
    usize::try_from(mib.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX)
}

/// LZ4 is the one compression compiled into RocksDB here (small records compress well);
/// every family reads through the one shared block cache.
fn cf_options(cache: &rocksdb::Cache) -> Options {
    let mut options = Options::default();
    options.set_compression_type(rocksdb::DBCompressionType::Lz4);
    options.set_write_buffer_size(MEMTABLE_BYTES);
    // Small memtables make small level-0 files, and a compaction of level 0 rewrites every
    // file of the next level its random keys overlap: waiting for 8 files instead of 4
    // halves how often that happens (measured: compaction CPU per record about halved with
    // 100,000 records written by 64 writers). Reads check at most 8 level-0 filters.
    options.set_level_zero_file_num_compaction_trigger(8);
    let mut table = rocksdb::BlockBasedOptions::default();
    table.set_block_cache(cache);
    // Index and filter blocks of every table file live in that cache too, instead of in
    // memory that grows with the number of files.
    table.set_cache_index_and_filter_blocks(true);
    table.set_pin_l0_filter_and_index_blocks_in_cache(true);
    // A lookup of a key that is not there (a name not taken yet, a tag's first count, a
    // blob's first reference: one in most writes) skips every table file whose filter rules
    // it out instead of reading a block of each.
    table.set_bloom_filter(10.0, false);
    options.set_block_based_table_factory(&table);
    options
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The first key after every key starting with `prefix` (None when no such key exists).
pub(super) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
pub(crate) fn test_store() -> (tempfile::TempDir, MetaStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = MetaStore::open(&dir.path().join("db"), false).unwrap();
    (dir, store)
}

/// A store that syncs its WAL (as the server runs it), shared between threads.
#[cfg(test)]
pub(crate) fn synced_test_store() -> (tempfile::TempDir, std::sync::Arc<MetaStore>) {
    let dir = tempfile::tempdir().unwrap();
    let store = MetaStore::open(&dir.path().join("db"), true).unwrap();
    (dir, std::sync::Arc::new(store))
}

#[cfg(test)]
mod memory_tests {
    use super::*;

    /// Every family, the default one included, reads through the one budgeted block cache,
    /// and the memory gauge reports that cache (not a family's private default one).
    #[test]
    fn every_family_reads_through_the_one_reported_block_cache() {
        let (dir, store) = test_store();
        for name in family_names() {
            let cf = store.db.cf_handle(name).expect("family opened");
            for i in 0..2_000u32 {
                store.db.put_cf(&cf, i.to_be_bytes(), [7u8; 64]).unwrap();
            }
            store.db.flush_cf(&cf).unwrap();
        }
        // Reopened, the store has empty memtables: their charge to the cache cannot shrink
        // while the reads below run (RocksDB frees a flushed memtable lazily), so what the
        // reads add is all that moves.
        drop(store);
        let store = MetaStore::open(&dir.path().join("db"), false).unwrap();
        for name in family_names() {
            let cf = store.db.cf_handle(name).expect("family opened");
            let before = store.memory().block_cache;
            for i in (0..2_000u32).step_by(97) {
                assert!(store.db.get_cf(&cf, i.to_be_bytes()).unwrap().is_some());
            }
            let after = store.memory().block_cache;
            assert!(
                after >= before + 4096,
                "reading family {name} from its table file left the reported block cache at {after} B (was {before} B)"
            );
        }
    }

    /// The cache is the size the setting asks for: reading far more than it holds leaves
    /// it at that size.
    #[test]
    fn the_block_cache_holds_what_the_setting_allows() {
        let dir = tempfile::tempdir().unwrap();
        let store = MetaStore::open_with_cache(&dir.path().join("db"), false, 1).unwrap();
        let cf = store.db.cf_handle(CF_COUNTERS).expect("family opened");
        for i in 0..40_000u32 {
            store
                .db
                .put_cf(&cf, i.to_be_bytes(), [i as u8; 100])
                .unwrap();
        }
        store.db.flush_cf(&cf).unwrap();
        for i in (0..40_000u32).step_by(7) {
            assert!(store.db.get_cf(&cf, i.to_be_bytes()).unwrap().is_some());
        }
        let used = store.memory().block_cache;
        assert!(
            (512 * 1024..=1024 * 1024 + 64 * 1024).contains(&used),
            "a 1 MiB cache holds {used} B after reading 4 MB of table data"
        );
    }

    /// Data written but not flushed yet counts against the block cache's capacity: the
    /// memtables are charged to it, so RocksDB's memory has the one bound.
    #[test]
    fn memtables_are_charged_to_the_block_cache() {
        let (_dir, store) = test_store();
        let cf = store.db.cf_handle(CF_POOL).expect("family opened");
        // 660 kB: within one family's memtable (MEMTABLE_BYTES), so nothing is flushed.
        for i in 0..6_000u32 {
            store.db.put_cf(&cf, i.to_be_bytes(), [7u8; 100]).unwrap();
        }
        let memory = store.memory();
        assert_eq!(memory.table_readers, 0, "nothing was flushed: {memory:?}");
        assert!(memory.memtables >= 600_000, "{memory:?}");
        assert!(
            memory.block_cache >= memory.memtables,
            "600 kB in memtables, nothing read, and the block cache holds {} B",
            memory.block_cache
        );
    }

    /// A data directory of an older version, holding a family since retired, opens, and the
    /// family is dropped.
    #[test]
    fn a_retired_family_is_dropped_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        {
            let mut options = Options::default();
            options.create_if_missing(true);
            options.create_missing_column_families(true);
            let db = DB::open_cf(
                &options,
                &path,
                family_names().chain(RETIRED_CFS.iter().copied()),
            )
            .unwrap();
            db.put_cf(db.cf_handle("tag_counts").unwrap(), b"k", b"v")
                .unwrap();
        }
        let store = MetaStore::open(&path, false).unwrap();
        assert!(store.db.cf_handle("tag_counts").is_none());
        drop(store);
        let held = DB::list_cf(&Options::default(), &path).unwrap();
        assert!(!held.iter().any(|name| name == "tag_counts"), "{held:?}");
        MetaStore::open(&path, false).expect("opens again without it");
    }

    /// A cache too small for the whole memtable budget gives them half of it.
    #[test]
    fn memtables_get_at_most_half_of_a_small_cache() {
        assert_eq!(memtable_budget(mib_bytes(8)), 4 * 1024 * 1024);
        assert_eq!(memtable_budget(mib_bytes(256)), MEMTABLE_BUDGET_BYTES);
    }

    /// The table readers are reported: one per table file, so the flushes above make some.
    #[test]
    fn table_readers_are_reported_once_table_files_exist() {
        let (_dir, store) = test_store();
        assert_eq!(store.memory().table_readers, 0, "no table file yet");
        let cf = store.db.cf_handle(CF_COUNTERS).expect("family opened");
        for i in 0..2_000u32 {
            store.db.put_cf(&cf, i.to_be_bytes(), [7u8; 64]).unwrap();
        }
        store.db.flush_cf(&cf).unwrap();
        assert!(store.db.get_cf(&cf, 5u32.to_be_bytes()).unwrap().is_some());
        assert!(store.memory().table_readers > 0, "{:?}", store.memory());
    }
}
