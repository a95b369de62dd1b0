//! The one thread that runs the metadata writes of requests, in arrival order. Writes are
//! serialised by the writer lock anyway; running them on one thread that stays busy under
//! load keeps that lock uncontended and spares each write two thread wake-ups (a blocking
//! pool hop, a handoff of the lock). Each write's WAL sync is deferred ([`defer_syncs`]):
//! the caller awaits it with [`MetaStore::durable`], while this thread goes on to the next
//! write, so one sync covers every write made meanwhile.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::audit::CarriedScope;
use super::{defer_syncs, MetaStore};

type Job = Box<dyn FnOnce(&MetaStore) + Send>;

/// The writer thread; dropping it lets the thread finish its queue and joins it.
pub struct WriterThread {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

/// The writer thread stopped before it answered (a write panicked there).
#[derive(Debug, thiserror::Error)]
#[error("the metadata writer thread dropped a write (it panicked)")]
pub struct WriteDropped;

impl WriterThread {
    pub fn start(meta: Arc<MetaStore>) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("fwrepo-meta-writer".into())
            .spawn(move || {
                for job in queue {
                    // A panicking write drops its answer (its caller sees WriteDropped); the
                    // writes behind it still run.
                    let _ = catch_unwind(AssertUnwindSafe(|| job(&meta)));
                }
            })?;
        Ok(WriterThread {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Runs `op` on the writer thread in the request's audit scope; answers its outcome and
    /// the sequence number to await for durability.
    pub async fn run<T, F>(&self, op: F) -> Result<(T, Option<u64>), WriteDropped>
    where
        T: Send + 'static,
        F: FnOnce(&MetaStore) -> T + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let scope = CarriedScope::current();
        let job: Job = Box::new(move |meta: &MetaStore| {
            let _ = answer.send(scope.run(|| defer_syncs(|| op(meta))));
        });
        self.jobs
            .as_ref()
            .expect("jobs are open until drop")
            .send(job)
            .map_err(|_| WriteDropped)?;
        answered.await.map_err(|_| WriteDropped)
    }
}

impl Drop for WriterThread {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::synced_test_store as synced_store;

    #[tokio::test(flavor = "multi_thread")]
    async fn writes_run_on_the_one_thread_and_hand_back_their_sync() {
        let (_dir, store) = synced_store();
        let writer = WriterThread::start(Arc::clone(&store)).unwrap();
        let (thread, written) = writer
            .run(|meta| {
                meta.create_type("acme", 101, "mcu", None, 1).unwrap();
                std::thread::current().name().map(str::to_string)
            })
            .await
            .unwrap();
        assert_eq!(thread.as_deref(), Some("fwrepo-meta-writer"));
        let written = written.expect("the commit's sync is left to the caller");
        store.durable(written).await.unwrap();
        assert_eq!(store.list_types("acme").unwrap().len(), 1);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_panicking_write_is_dropped_and_the_next_ones_still_run() {
        let (_dir, store) = synced_store();
        let writer = WriterThread::start(Arc::clone(&store)).unwrap();
        let dropped = writer.run(|_| -> () { panic!("a bug in one write") }).await;
        assert!(matches!(dropped, Err(WriteDropped)));
        let (created, _) = writer
            .run(|meta| meta.create_type("acme", 102, "next", None, 1))
            .await
            .unwrap();
        created.unwrap();
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn concurrent_writes_each_get_their_own_answer() {
        let (_dir, store) = synced_store();
        let writer = Arc::new(WriterThread::start(Arc::clone(&store)).unwrap());
        let mut tasks = Vec::new();
        for i in 0..64u16 {
            let writer = Arc::clone(&writer);
            tasks.push(tokio::spawn(async move {
                let (created, _) = writer
                    .run(move |meta| {
                        meta.create_type("acme", 300 + i, "t", None, 1)
                            .map(|t| t.fw_type)
                    })
                    .await
                    .unwrap();
                assert_eq!(created.unwrap(), 300 + i);
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    }

    #[test]
    fn dropping_the_writer_joins_its_thread_and_lets_the_store_go() {
        let (_dir, store) = synced_store();
        let writer = WriterThread::start(Arc::clone(&store)).unwrap();
        assert_eq!(Arc::strong_count(&store), 2);
        drop(writer);
        assert_eq!(Arc::strong_count(&store), 1);
    }
}
