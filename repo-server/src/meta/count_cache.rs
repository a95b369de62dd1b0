//! The counts that writes read and rewrite (id, version and clock counters, list counts,
//! partner statistics, tag counts), remembered by the writer between commits. A record's
//! creation reads about fifteen of them; served from memory, the writer no longer searches
//! the memtables and table files for each.
//!
//! Sound because these families change only under the writer lock (or while the store
//! opens, before any writer): the committed values held here are promoted only after their
//! batch is written, a batch dropped without a commit leaves nothing behind, and a count
//! written past [`MetaStore::commit`] makes the store forget every committed value. Only the
//! thread holding this store's lock reads or stages through the cache. Bounded: the least
//! useful entries are evicted once the capacity is reached.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::MutexGuard;

use quick_cache::Equivalent;

use super::keys::{CF_COUNTERS, CF_TAG_COUNTS, CF_TAG_TYPE_COUNTS};
use super::{MetaResult, MetaStore};

/// Counts remembered at most: about 100 bytes each, so a few MiB whatever the pool holds.
const CAPACITY: usize = 32 * 1024;

/// The families whose values this cache holds.
pub(super) fn is_cached(cf: &'static str) -> bool {
    cf == CF_COUNTERS || cf == CF_TAG_COUNTS || cf == CF_TAG_TYPE_COUNTS
}

#[derive(Clone, Hash, PartialEq, Eq)]
struct CountKey {
    cf: &'static str,
    key: Box<[u8]>,
}

/// A borrowed [`CountKey`] for lookups: it hashes the same way (field by field, a slice
/// hashing as a `Box<[u8]>` does).
#[derive(Hash)]
struct CountRef<'a> {
    cf: &'static str,
    key: &'a [u8],
}

impl Equivalent<CountKey> for CountRef<'_> {
    fn equivalent(&self, owned: &CountKey) -> bool {
        self.cf == owned.cf && *self.key == *owned.key
    }
}

impl CountRef<'_> {
    fn to_owned(&self) -> CountKey {
        CountKey {
            cf: self.cf,
            key: self.key.into(),
        }
    }
}

/// `None` values stand for a key known to be absent.
pub(super) struct CountCache {
    committed: quick_cache::unsync::Cache<CountKey, Option<u64>>,
    /// What the batch being built under the writer lock has staged.
    staged: HashMap<CountKey, Option<u64>>,
    /// A count was staged outside the writer lock: the next commit forgets them all.
    bypassed: bool,
}

impl Default for CountCache {
    fn default() -> Self {
        CountCache {
            committed: quick_cache::unsync::Cache::new(CAPACITY),
            staged: HashMap::new(),
            bypassed: false,
        }
    }
}

thread_local! {
    /// The store whose writer lock this thread holds (null: none). Only then may what the
    /// thread reads of that store be remembered.
    static HOLDS_WRITER: Cell<*const MetaStore> = const { Cell::new(std::ptr::null()) };
}

impl MetaStore {
    /// Marks this thread as the holder of this store's writer lock, until
    /// [`MetaStore::released_writer`].
    pub(super) fn holding_writer(&self) {
        HOLDS_WRITER.with(|holder| holder.set(self));
    }

    pub(super) fn released_writer(&self) {
        HOLDS_WRITER.with(|holder| holder.set(std::ptr::null()));
    }

    fn holds_writer(&self) -> bool {
        HOLDS_WRITER.with(|holder| std::ptr::eq(holder.get(), self))
    }
}

impl MetaStore {
    fn count_cache(&self) -> MutexGuard<'_, CountCache> {
        self.counts.lock().unwrap_or_else(|poisoned| {
            // A panic mid-update may have left some values stale: start over.
            self.counts.clear_poison();
            let mut cache = poisoned.into_inner();
            cache.committed.clear();
            cache.staged.clear();
            cache
        })
    }

    /// A count as the batch being built would leave it: what it staged, else the committed
    /// value (remembered, or read and then remembered). Call under the writer lock.
    pub(super) fn read_count(&self, cf: &'static str, key: &[u8]) -> MetaResult<Option<u64>> {
        let wanted = CountRef { cf, key };
        if self.holds_writer() {
            let cache = self.count_cache();
            if let Some(value) = cache.staged.get(&wanted.to_owned()) {
                return Ok(*value);
            }
            if let Some(value) = cache.committed.get(&wanted) {
                return Ok(*value);
            }
        }
        let value = self.get_u64(cf, key)?;
        if self.holds_writer() {
            self.count_cache()
                .committed
                .insert(wanted.to_owned(), value);
        }
        Ok(value)
    }

    /// Notes a value staged for a cached family (`None`: deleted). Outside the writer lock
    /// (only while the store opens, when no writer runs) nothing is noted: the commit that
    /// follows forgets every count instead.
    pub(super) fn note_staged_count(&self, cf: &'static str, key: &[u8], value: Option<u64>) {
        let mut cache = self.count_cache();
        if self.holds_writer() {
            cache.staged.insert(CountRef { cf, key }.to_owned(), value);
        } else {
            cache.bypassed = true;
        }
    }

    /// Forgets every count if a count was staged outside the writer lock since the last
    /// time: called by the commits that do not take it.
    pub(super) fn forget_counts_if_bypassed(&self) {
        let mut cache = self.count_cache();
        if std::mem::take(&mut cache.bypassed) {
            // Only the committed values: the staged ones belong to a writer's batch.
            cache.committed.clear();
        }
    }

    /// The staged counts are committed: they become the remembered values.
    pub(super) fn promote_staged_counts(&self) {
        let mut cache = self.count_cache();
        let staged = std::mem::take(&mut cache.staged);
        for (key, value) in staged {
            cache.committed.insert(key, value);
        }
    }

    /// The batch was dropped (or failed): what it staged never happened.
    pub(super) fn discard_staged_counts(&self) {
        self.count_cache().staged.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::super::keys::*;
    use super::super::test_store;
    use super::*;
    use crate::domain::PoolRecordFields;
    use rocksdb::WriteBatch;

    fn remembered(store: &MetaStore, cf: &'static str, key: &[u8]) -> Option<Option<u64>> {
        store
            .count_cache()
            .committed
            .get(&CountRef { cf, key })
            .copied()
    }

    #[test]
    fn a_committed_count_is_remembered_with_its_new_value() {
        let (_dir, store) = test_store();
        store.create_type("acme", 101, "mcu", None, 1).unwrap();
        assert_eq!(
            remembered(&store, CF_COUNTERS, &id_counter()),
            Some(Some(1))
        );
        store.create_type("acme", 102, "mcu2", None, 1).unwrap();
        assert_eq!(
            remembered(&store, CF_COUNTERS, &id_counter()),
            Some(Some(2))
        );
        assert_eq!(store.get_u64(CF_COUNTERS, &id_counter()).unwrap(), Some(2));
    }

    #[test]
    fn a_batch_dropped_without_commit_leaves_no_count_behind() {
        let (_dir, store) = test_store();
        store.create_type("acme", 101, "mcu", None, 1).unwrap();
        {
            let _guard = store.lock();
            let mut batch = WriteBatch::default();
            assert_eq!(store.next_counter(&mut batch, &id_counter()).unwrap(), 2);
            // Refused after staging: the guard and the batch are dropped.
        }
        assert_eq!(
            remembered(&store, CF_COUNTERS, &id_counter()),
            Some(Some(1))
        );
        let guard = store.lock();
        let mut batch = WriteBatch::default();
        assert_eq!(
            store.next_counter(&mut batch, &id_counter()).unwrap(),
            2,
            "the dropped batch's id was handed out again"
        );
        drop(guard);
    }

    #[test]
    fn two_changes_to_one_count_in_one_batch_both_count() {
        let (_dir, store) = test_store();
        let guard = store.lock();
        let mut batch = WriteBatch::default();
        assert_eq!(store.next_counter(&mut batch, &id_counter()).unwrap(), 1);
        assert_eq!(store.next_counter(&mut batch, &id_counter()).unwrap(), 2);
        store.commit(guard, batch).unwrap();
        assert_eq!(store.get_u64(CF_COUNTERS, &id_counter()).unwrap(), Some(2));
    }

    #[test]
    fn a_write_that_bypasses_the_writer_forgets_every_count() {
        let (_dir, store) = test_store();
        store.create_type("acme", 101, "mcu", None, 1).unwrap();
        let mut batch = WriteBatch::default();
        store.put_u64(&mut batch, CF_COUNTERS, &id_counter(), 41);
        store.commit_alone(batch).unwrap();
        assert_eq!(remembered(&store, CF_COUNTERS, &id_counter()), None);
        store.create_type("acme", 102, "mcu2", None, 1).unwrap();
        assert_eq!(store.get_u64(CF_COUNTERS, &id_counter()).unwrap(), Some(42));
    }

    #[test]
    fn deleted_tag_counts_are_remembered_as_absent() {
        let (_dir, store) = test_store();
        store.create_type("acme", 101, "mcu", None, 1).unwrap();
        let sha = crate::domain::Sha256Digest([3; 32]);
        store.add_pending("acme", &sha, 3, "b3", 0, 100).unwrap();
        store.move_to_repository("acme", &sha, 5).unwrap();
        let fields = PoolRecordFields {
            fw_type: 101,
            name: "app".into(),
            description: None,
            version: "1.0.0".into(),
            url: String::new(),
            tags: vec!["x".into()],
            sha256: sha,
        };
        let record = store.create_pool_record("acme", fields, 10).unwrap();
        assert_eq!(
            remembered(&store, CF_TAG_COUNTS, &tag_count("acme", "x")),
            Some(Some(1))
        );
        store.delete_pool_records("acme", &[record.id]).unwrap();
        assert_eq!(
            remembered(&store, CF_TAG_COUNTS, &tag_count("acme", "x")),
            Some(None)
        );
        assert_eq!(
            store
                .get_u64(CF_TAG_COUNTS, &tag_count("acme", "x"))
                .unwrap(),
            None
        );
    }

    #[test]
    fn holding_one_stores_writer_remembers_nothing_of_another() {
        let (_dir_a, a) = test_store();
        let (_dir_b, b) = test_store();
        let _guard = a.lock();
        b.read_count(CF_COUNTERS, &id_counter()).unwrap();
        assert_eq!(remembered(&b, CF_COUNTERS, &id_counter()), None);
    }

    #[test]
    fn a_panic_while_updating_the_cache_starts_it_over() {
        let (_dir, store) = test_store();
        store.create_type("acme", 101, "mcu", None, 1).unwrap();
        std::thread::scope(|scope| {
            let panicked = scope.spawn(|| {
                let _cache = store.count_cache();
                panic!("mid-update");
            });
            assert!(panicked.join().is_err());
        });
        assert_eq!(remembered(&store, CF_COUNTERS, &id_counter()), None);
        assert!(!store.counts.is_poisoned());
        store.create_type("acme", 102, "mcu2", None, 1).unwrap();
        assert_eq!(store.get_u64(CF_COUNTERS, &id_counter()).unwrap(), Some(2));
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let (_dir, store) = test_store();
        let guard = store.lock();
        let mut batch = WriteBatch::default();
        for i in 0..(CAPACITY as u64 * 2) {
            store.next_counter(&mut batch, &i.to_be_bytes()).unwrap();
        }
        store.commit(guard, batch).unwrap();
        assert!(store.count_cache().committed.len() <= CAPACITY);
    }
}
