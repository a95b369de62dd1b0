//! The one thread that runs the metadata writes of requests, in arrival order, and the
//! thread that syncs them. Writes are serialised by the writer lock anyway; running them on
//! one thread that stays busy under load keeps that lock uncontended and spares each write
//! two thread wake-ups (a blocking pool hop, a handoff of the lock). Each write's WAL sync is
//! deferred ([`defer_syncs`]): the writer thread hands the write's answer to the sync thread
//! and goes on to the next write. The sync thread syncs once for every answer handed to it
//! meanwhile (a group sync) and only then answers them, so a request wakes once, when its
//! write is durable.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::audit::CarriedScope;
use super::{defer_syncs, MetaError, MetaResult, MetaStore};

type Job = Box<dyn FnOnce(&MetaStore, &mpsc::Sender<Unsynced>) + Send>;

/// A write's answer, held until every write up to `written` is durable.
struct Unsynced {
    written: u64,
    answer: Box<dyn FnOnce(MetaResult<()>) + Send>,
}

/// The writer and sync threads; dropping it lets both finish their queues and joins them.
pub struct WriterThread {
    jobs: Option<mpsc::Sender<Job>>,
    threads: Vec<JoinHandle<()>>,
}

/// Why a write handed to the writer thread has no outcome to answer.
#[derive(Debug, thiserror::Error)]
pub enum WriteFailed {
    /// The writer thread stopped before it answered (a write panicked there).
    #[error("the metadata writer thread dropped a write (it panicked)")]
    Dropped,
    /// The write was made, but the WAL sync that would make it durable failed.
    #[error(transparent)]
    NotDurable(#[from] MetaError),
}

impl WriterThread {
    pub fn start(meta: Arc<MetaStore>) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (unsynced, to_sync) = mpsc::channel::<Unsynced>();
        let syncer = {
            let meta = Arc::clone(&meta);
            std::thread::Builder::new()
                .name("fwrepo-meta-sync".into())
                .spawn(move || sync_and_answer(&meta, to_sync))?
        };
        let writer = std::thread::Builder::new()
            .name("fwrepo-meta-writer".into())
            .spawn(move || {
                for job in queue {
                    // A panicking write drops its answer (its caller sees Dropped); the
                    // writes behind it still run.
                    let _ = catch_unwind(AssertUnwindSafe(|| job(&meta, &unsynced)));
                }
                // Dropping `unsynced` here ends the sync thread once it has answered all.
            })?;
        Ok(WriterThread {
            jobs: Some(jobs),
            threads: vec![writer, syncer],
        })
    }

    /// Runs `op` on the writer thread in the request's audit scope; answers its outcome once
    /// what it wrote is durable.
    pub async fn run<T, F>(&self, op: F) -> Result<T, WriteFailed>
    where
        T: Send + 'static,
        F: FnOnce(&MetaStore) -> T + Send + 'static,
    {
        let (answer, answered) = oneshot::channel::<Result<T, WriteFailed>>();
        let scope = CarriedScope::current();
        let job: Job = Box::new(move |meta: &MetaStore, unsynced: &mpsc::Sender<Unsynced>| {
            let (outcome, written) = scope.run(|| defer_syncs(|| op(meta)));
            let Some(written) = written else {
                let _ = answer.send(Ok(outcome));
                return;
            };
            let answer_when_synced = Box::new(move |synced: MetaResult<()>| {
                let _ = answer.send(synced.map(|()| outcome).map_err(WriteFailed::from));
            });
            // The sync thread outlives this one (it ends when this thread drops its sender).
            let _ = unsynced.send(Unsynced {
                written,
                answer: answer_when_synced,
            });
        });
        self.jobs
            .as_ref()
            .expect("jobs are open until drop")
            .send(job)
            .map_err(|_| WriteFailed::Dropped)?;
        answered.await.map_err(|_| WriteFailed::Dropped)?
    }
}

/// The sync thread: takes every answer waiting, syncs once for all of them, answers them.
fn sync_and_answer(meta: &MetaStore, to_sync: mpsc::Receiver<Unsynced>) {
    while let Ok(first) = to_sync.recv() {
        let mut waiting = vec![first];
        waiting.extend(to_sync.try_iter());
        let newest = waiting.iter().map(|w| w.written).max().unwrap_or(0);
        let synced = catch_unwind(AssertUnwindSafe(|| meta.sync_through(newest)));
        for unsynced in waiting {
            let outcome = match &synced {
                Ok(Ok(())) => Ok(()),
                // A failed (or panicked) sync: each waiter tries once more for itself and
                // answers its own error.
                _ => catch_unwind(AssertUnwindSafe(|| meta.sync_through(unsynced.written)))
                    .unwrap_or_else(|_| Err(MetaError::SyncPanicked)),
            };
            (unsynced.answer)(outcome);
        }
    }
}

impl Drop for WriterThread {
    fn drop(&mut self) {
        self.jobs = None;
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::synced_test_store as synced_store;

    #[tokio::test(flavor = "multi_thread")]
    async fn writes_run_on_the_one_thread_and_are_answered_once_durable() {
        let (_dir, store) = synced_store();
        let writer = WriterThread::start(Arc::clone(&store)).unwrap();
        let (thread, written) = writer
            .run(|meta| {
                meta.create_type("acme", 101, "mcu", None, 1).unwrap();
                let thread = std::thread::current().name().map(str::to_string);
                (thread, meta.db.latest_sequence_number())
            })
            .await
            .unwrap();
        assert_eq!(thread.as_deref(), Some("fwrepo-meta-writer"));
        let (synced, _) = store.group_commit.synced_and_rounds();
        assert!(synced >= written, "answered before its sync");
        assert_eq!(store.list_types("acme").unwrap().len(), 1);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_write_that_writes_nothing_is_answered_without_a_sync() {
        let (_dir, store) = synced_store();
        let writer = WriterThread::start(Arc::clone(&store)).unwrap();
        let (_, rounds_before) = store.group_commit.synced_and_rounds();
        let listed = writer.run(|meta| meta.list_types("acme").unwrap().len());
        assert_eq!(listed.await.unwrap(), 0);
        assert_eq!(store.group_commit.synced_and_rounds().1, rounds_before);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_panicking_write_is_dropped_and_the_next_ones_still_run() {
        let (_dir, store) = synced_store();
        let writer = WriterThread::start(Arc::clone(&store)).unwrap();
        let dropped = writer.run(|_| -> () { panic!("a bug in one write") }).await;
        assert!(matches!(dropped, Err(WriteFailed::Dropped)));
        let created = writer
            .run(|meta| meta.create_type("acme", 102, "next", None, 1))
            .await
            .unwrap();
        created.unwrap();
    }

    /// Writes made while a sync runs wait for the next one, and one sync answers them all:
    /// with the group-commit state held (no sync can finish), 64 writes are made and none is
    /// answered; released, all are answered after at most two syncs.
    #[tokio::test(flavor = "multi_thread")]
    async fn writes_made_during_a_sync_share_the_next_and_wait_for_it() {
        let (_dir, store) = synced_store();
        let writer = Arc::new(WriterThread::start(Arc::clone(&store)).unwrap());
        let (_, rounds_before) = store.group_commit.synced_and_rounds();
        let held = store.group_commit.hold();
        let mut tasks = Vec::new();
        for i in 0..64u16 {
            let writer = Arc::clone(&writer);
            tasks.push(tokio::spawn(async move {
                let created = writer
                    .run(move |meta| {
                        meta.create_type("acme", 300 + i, "t", None, 1)
                            .map(|t| t.fw_type)
                    })
                    .await
                    .unwrap();
                assert_eq!(created.unwrap(), 300 + i);
            }));
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while store.list_types("acme").unwrap().len() < 64 {
            assert!(
                std::time::Instant::now() < deadline,
                "the writes were not made"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert!(
            tasks.iter().all(|task| !task.is_finished()),
            "a write was answered before its sync"
        );
        drop(held);
        for task in tasks {
            task.await.unwrap();
        }
        let (_, rounds_after) = store.group_commit.synced_and_rounds();
        assert!(
            rounds_after - rounds_before <= 2,
            "{} syncs for 64 writes made during one",
            rounds_after - rounds_before
        );
    }

    #[test]
    fn dropping_the_writer_joins_its_threads_and_lets_the_store_go() {
        let (_dir, store) = synced_store();
        let writer = WriterThread::start(Arc::clone(&store)).unwrap();
        assert_eq!(Arc::strong_count(&store), 3);
        drop(writer);
        assert_eq!(Arc::strong_count(&store), 1);
    }
}
