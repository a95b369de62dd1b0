//! Group commit: writers that wrote their batches while a WAL sync was running share the next
//! sync instead of each paying for one. The first waiter syncs for everyone behind it.
//!
//! A request's writes may also defer their sync ([`defer_syncs`]): the blocking thread that
//! wrote returns at once, and the request waits for durability as an async task
//! ([`AsyncDurability`]), so no thread sits parked per write while the disk syncs.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use rocksdb::DB;
use tokio::sync::watch;

use super::{MetaError, MetaResult, MetaStore};

#[derive(Default)]
struct SyncState {
    /// Every write with a sequence number up to this one is durable.
    synced: u64,
    /// A sync is running; others wait for it rather than start their own.
    syncing: bool,
    /// WAL syncs run so far.
    rounds: u64,
}

/// Coordinates WAL syncs across writers.
#[derive(Default)]
pub(super) struct GroupCommit {
    state: Mutex<SyncState>,
    done: Condvar,
}

impl GroupCommit {
    /// Returns once every write up to `written` (a sequence number read after the caller's
    /// write) is on disk: either a sync that started after it covers it, or this caller runs
    /// one covering every write so far.
    pub(super) fn wait_durable(&self, db: &DB, written: u64) -> Result<(), rocksdb::Error> {
        let mut state = self.lock();
        loop {
            if state.synced >= written {
                return Ok(());
            }
            if state.syncing {
                state = self
                    .done
                    .wait(state)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                continue;
            }
            state.syncing = true;
            // Every write up to here has reached the WAL file; the sync below covers it.
            let target = db.latest_sequence_number();
            drop(state);
            let result = db.flush_wal(true);
            state = self.lock();
            state.syncing = false;
            state.rounds += 1;
            if result.is_ok() {
                state.synced = state.synced.max(target);
            }
            self.done.notify_all();
            // On failure the waiters try again themselves and see the error too.
            result?;
        }
    }

    #[cfg(test)]
    pub(super) fn synced_and_rounds(&self) -> (u64, u64) {
        let state = self.lock();
        (state.synced, state.rounds)
    }

    /// Held, no sync can finish: for tests that need writes to wait on their sync.
    #[cfg(test)]
    pub(super) fn hold(&self) -> impl Drop + '_ {
        self.lock()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SyncState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

thread_local! {
    /// While [`defer_syncs`] runs on this thread: the newest sequence number its commits
    /// wrote without syncing (0 until one does: a write's sequence number is at least 1).
    static DEFERRED: Cell<Option<u64>> = const { Cell::new(None) };
}

/// Runs `op` (blocking metadata work) with the WAL syncs of its commits deferred, and returns
/// the sequence number that must be durable before its outcome is answered (`None` when it
/// wrote nothing). The caller must wait for it ([`MetaStore::durable`]).
pub fn defer_syncs<T>(op: impl FnOnce() -> T) -> (T, Option<u64>) {
    struct Restore;
    impl Drop for Restore {
        fn drop(&mut self) {
            DEFERRED.with(|slot| slot.set(None));
        }
    }
    DEFERRED.with(|slot| slot.set(Some(0)));
    let restore = Restore;
    let outcome = op();
    let written = DEFERRED
        .with(|slot| slot.get())
        .filter(|newest| *newest > 0);
    drop(restore);
    (outcome, written)
}

/// Whether this thread defers its syncs.
pub(super) fn deferring() -> bool {
    DEFERRED.with(|slot| slot.get().is_some())
}

/// Notes a write at `sequence` when this thread defers syncs; false when it does not (the
/// caller syncs now).
pub(super) fn deferred(sequence: u64) -> bool {
    DEFERRED.with(|slot| match slot.get() {
        Some(newest) => {
            slot.set(Some(newest.max(sequence)));
            true
        }
        None => false,
    })
}

/// Async waiters for durability: one of them at a time runs a group sync on the blocking
/// pool; the others wait for its outcome without a thread.
pub(super) struct AsyncDurability {
    /// Every write up to this sequence number is durable.
    synced: watch::Sender<u64>,
    syncing: AtomicBool,
}

impl Default for AsyncDurability {
    fn default() -> Self {
        AsyncDurability {
            synced: watch::Sender::new(0),
            syncing: AtomicBool::new(false),
        }
    }
}

impl MetaStore {
    /// Returns once every write up to `written` is on disk (see [`defer_syncs`]). Dropping
    /// the future (a client gone) stops nothing: the sync it started still finishes and
    /// wakes the other waiters.
    pub async fn durable(self: &Arc<Self>, written: u64) -> MetaResult<()> {
        let mut synced = self.durability.synced.subscribe();
        loop {
            if *synced.borrow_and_update() >= written {
                return Ok(());
            }
            if self.durability.syncing.swap(true, Ordering::AcqRel) {
                // Another waiter syncs: its outcome (or its failure) wakes this one.
                let _ = synced.changed().await;
                continue;
            }
            let meta = Arc::clone(self);
            tokio::task::spawn_blocking(move || meta.sync_round())
                .await
                .map_err(MetaError::SyncStopped)??;
        }
    }

    /// One group sync covering every write so far, run by the waiter that set `syncing`.
    /// Its bookkeeping happens here, on the blocking thread, so it completes whatever
    /// becomes of that waiter.
    fn sync_round(&self) -> MetaResult<()> {
        /// Hands the round back (and wakes the waiters) however the sync ends.
        struct EndOfRound<'a>(&'a AsyncDurability);
        impl Drop for EndOfRound<'_> {
            fn drop(&mut self) {
                self.0.syncing.store(false, Ordering::Release);
                // On a failure, the waiters try again themselves and see the error too.
                self.0.synced.send_modify(|_| {});
            }
        }
        let _end = EndOfRound(&self.durability);
        self.sync_through(self.db.latest_sequence_number())
    }

    /// Makes every write up to `written` durable on this thread (a group sync, or the wait
    /// for one running), then wakes the async waiters it covers.
    pub(super) fn sync_through(&self, written: u64) -> MetaResult<()> {
        self.group_commit.wait_durable(&self.db, written)?;
        self.durability.synced.send_if_modified(|synced| {
            let newer = written > *synced;
            *synced = (*synced).max(written);
            newer
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::synced_test_store as synced_store;

    fn synced_up_to(store: &MetaStore) -> u64 {
        store.group_commit.synced_and_rounds().0
    }

    /// Creates type `fw_type` with its sync deferred; answers the sequence number to await.
    fn create_deferred(store: &MetaStore, fw_type: u16) -> u64 {
        let (created, written) = defer_syncs(|| store.create_type("acme", fw_type, "t", None, 1));
        created.unwrap();
        written.expect("the commit's sequence number is handed back")
    }

    /// `written` is not synced yet, and is once `durable` returns.
    async fn synced_only_once_awaited(store: &Arc<MetaStore>, written: u64, what: &str) {
        assert!(synced_up_to(store) < written, "{what} synced at once");
        store.durable(written).await.unwrap();
        assert!(synced_up_to(store) >= written);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_deferred_commit_is_synced_when_awaited_not_before() {
        let (_dir, store) = synced_store();
        let written = create_deferred(&store, 101);
        synced_only_once_awaited(&store, written, "the deferred commit").await;
    }

    /// Bytes in the WAL files of the store in `dir` (as `synced_store` lays it out).
    fn wal_file_bytes(dir: &std::path::Path) -> u64 {
        std::fs::read_dir(dir.join("db"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
            .map(|path| std::fs::metadata(path).unwrap().len())
            .sum()
    }

    /// With syncs on, a deferred commit's WAL record stays in RocksDB's buffer: the writer
    /// thread makes no write call for it, and the group sync writes it out with the others.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_deferred_commit_reaches_the_wal_file_with_its_group_sync() {
        let (dir, store) = synced_store();
        let before = wal_file_bytes(dir.path());
        let written = create_deferred(&store, 101);
        assert_eq!(
            wal_file_bytes(dir.path()),
            before,
            "the commit wrote its WAL record before the group sync"
        );
        store.durable(written).await.unwrap();
        assert!(wal_file_bytes(dir.path()) > before);
    }

    /// With syncs off, nothing would write the buffer out: each commit's record goes to the
    /// WAL file at once, so an answered write survives a crash of the process.
    #[test]
    fn without_syncs_a_commit_reaches_the_wal_file_at_once() {
        let (dir, store) = crate::meta::test_store();
        let before = wal_file_bytes(dir.path());
        store.create_type("acme", 101, "mcu", None, 1).unwrap();
        assert!(wal_file_bytes(dir.path()) > before);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn blind_writes_defer_too_and_reads_hand_back_nothing() {
        let (_dir, store) = synced_store();
        let ((), nothing) = defer_syncs(|| {
            store.list_types("acme").unwrap();
        });
        assert_eq!(nothing, None);
        let token = crate::domain::TokenRecord {
            client_id: "c".into(),
            partner: "acme".into(),
            scopes: Vec::new(),
            expires_ms: 1,
        };
        let (put, written) = defer_syncs(|| store.put_token(&[7; 32], &token));
        put.unwrap();
        let written = written.expect("a stored token is handed back");
        synced_only_once_awaited(&store, written, "the blind write").await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_waiter_dropped_while_it_syncs_leaves_the_next_one_able_to_finish() {
        let (_dir, store) = synced_store();
        let written = create_deferred(&store, 101);
        // Polled once (it starts the sync, which waits for the group-commit state held
        // here), then dropped: a client gone while its sync runs.
        let held = store.group_commit.hold();
        let once = tokio::time::timeout(std::time::Duration::ZERO, store.durable(written)).await;
        assert!(
            once.is_err(),
            "the sync finished although its state was held"
        );
        drop(held);
        let next = tokio::time::timeout(std::time::Duration::from_secs(10), store.durable(written));
        next.await
            .expect("a dropped waiter left the sync round taken")
            .unwrap();
        assert!(synced_up_to(&store) >= written);
    }

    #[test]
    fn outside_defer_syncs_a_commit_syncs_before_it_returns() {
        let (_dir, store) = synced_store();
        store.create_type("acme", 101, "mcu", None, 1).unwrap();
        assert!(synced_up_to(&store) >= store.db.latest_sequence_number());
        assert!(
            !deferring(),
            "defer_syncs leaves nothing behind on the thread"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn many_waiters_share_syncs_and_all_return() {
        let (_dir, store) = synced_store();
        let mut waiters = Vec::new();
        for i in 0..32u16 {
            let store = Arc::clone(&store);
            waiters.push(tokio::spawn(async move {
                let written = tokio::task::spawn_blocking({
                    let store = Arc::clone(&store);
                    move || create_deferred(&store, 200 + i)
                })
                .await
                .unwrap();
                store.durable(written).await.unwrap();
                assert!(synced_up_to(&store) >= written);
            }));
        }
        for waiter in waiters {
            waiter.await.unwrap();
        }
    }
}
