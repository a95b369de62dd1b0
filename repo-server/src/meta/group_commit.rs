//! Group commit: writers that wrote their batches while a WAL sync was running share the next
//! sync instead of each paying for one. The first waiter syncs for everyone behind it.

use std::sync::{Condvar, Mutex};

use rocksdb::DB;

#[derive(Default)]
struct SyncState {
    /// Every write with a sequence number up to this one is durable.
    synced: u64,
    /// A sync is running; others wait for it rather than start their own.
    syncing: bool,
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
            if result.is_ok() {
                state.synced = state.synced.max(target);
            }
            self.done.notify_all();
            // On failure the waiters try again themselves and see the error too.
            result?;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SyncState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
