//! The audit log: entries keyed (partner, time, seq), each written in the same `WriteBatch`
//! as the change it describes. A request's entry travels with the request as an `AuditScope`
//! (a task-local, and a thread-local on the blocking thread running its metadata calls), so
//! `MetaStore::commit` adds it to whatever batch the request commits, with no change to the
//! functions that stage those batches.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use rocksdb::{Direction, WriteBatch};

use super::keys::{audit_key, partner_prefix, CF_AUDIT};
use super::{codec, now_ms, MetaResult, MetaStore};
use crate::domain::audit::{AuditEntry, AuditFilter, AuditOutcome, MAX_AUDIT_SCAN};

/// The audit entry of one request (or one change the server makes on its own), shared by the
/// request's task and the blocking threads it hands metadata calls to.
#[derive(Clone)]
pub struct AuditScope(Arc<Mutex<ScopeState>>);

struct ScopeState {
    /// The entry, its actor and partner unknown (empty) until the request is attributed.
    entry: AuditEntry,
    attributed: bool,
    /// A commit carried the entry: the change and its entry are durable together.
    applied: bool,
}

tokio::task_local! {
    static REQUEST_SCOPE: AuditScope;
}

thread_local! {
    static BLOCKING_SCOPE: RefCell<Option<AuditScope>> = const { RefCell::new(None) };
}

/// Unique for the life of the data directory: seeded from the clock at start (nanoseconds),
/// so a restarted server never reissues a number within a millisecond it already used.
static NEXT_SEQ: LazyLock<AtomicU64> = LazyLock::new(|| {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    AtomicU64::new(nanos)
});

impl AuditScope {
    /// The entry of a request, attributed later (when its credentials are resolved).
    pub fn request(
        operation: String,
        target: String,
        remote: Option<String>,
        request_id: Option<String>,
    ) -> Self {
        Self::with(AuditEntry {
            partner: String::new(),
            at_ms: now_ms(),
            seq: NEXT_SEQ.fetch_add(1, Ordering::Relaxed),
            actor: String::new(),
            operation,
            target,
            remote,
            request_id,
            created: None,
            outcome: AuditOutcome::Applied,
            status: None,
        })
    }

    /// The entry of a change the server makes on its own (`server:<task>`) for `partner`.
    pub fn server(partner: &str, task: &str, operation: String, target: String) -> Self {
        let scope = Self::request(operation, target, None, None);
        scope.attribute(partner, format!("server:{task}"));
        scope
    }

    fn with(entry: AuditEntry) -> Self {
        AuditScope(Arc::new(Mutex::new(ScopeState {
            entry,
            attributed: false,
            applied: false,
        })))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, ScopeState> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `work` with this scope as the task's: its commits carry the entry.
    pub async fn run<F: std::future::Future>(self, work: F) -> F::Output {
        REQUEST_SCOPE.scope(self, work).await
    }

    /// The scope of the running request, on its task or on a blocking thread it started.
    pub fn current() -> Option<AuditScope> {
        REQUEST_SCOPE
            .try_with(AuditScope::clone)
            .ok()
            .or_else(|| BLOCKING_SCOPE.with(|scope| scope.borrow().clone()))
    }

    /// Names who acts; the entry goes to that actor's partner's log.
    pub fn attribute(&self, partner: &str, actor: String) {
        let mut state = self.state();
        state.entry.partner = partner.to_string();
        state.entry.actor = actor;
        state.attributed = true;
    }

    /// The entry a commit made now carries (marking the scope applied), if it is attributed.
    fn entry_for_commit(&self) -> Option<AuditEntry> {
        let mut state = self.state();
        if !state.attributed {
            return None;
        }
        state.applied = true;
        Some(state.entry.clone())
    }

    /// The entry to write once the request is answered with `status`: only when no commit
    /// carried it (a refused, failed or storage-free request) and it is attributed.
    pub fn entry_when_answered(&self, status: u16) -> Option<AuditEntry> {
        let state = self.state();
        if state.applied || !state.attributed {
            return None;
        }
        let mut entry = state.entry.clone();
        entry.outcome = AuditOutcome::of_unapplied(status);
        entry.status = Some(status);
        Some(entry)
    }
}

/// Names who acts for the running request, if it has a scope (mutating requests do).
pub fn attribute(partner: &str, actor: String) {
    if let Some(scope) = AuditScope::current() {
        scope.attribute(partner, actor);
    }
}

/// Names the record the running request's commit is creating (its id is known only under
/// the writer lock): e.g. `pool/types/3/versionNumbers/17`. Call before the commit.
pub(super) fn note_created(what: String) {
    if let Some(scope) = AuditScope::current() {
        scope.state().entry.created = Some(what);
    }
}

/// `tokio::task::spawn_blocking` that carries the running request's scope to the thread, so
/// the metadata commits made there carry its entry.
pub fn spawn_blocking<T, F>(work: F) -> tokio::task::JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let scope = CarriedScope::current();
    tokio::task::spawn_blocking(move || scope.run(work))
}

/// The running request's scope, taken along to run its work on another thread.
pub struct CarriedScope(Option<AuditScope>);

impl CarriedScope {
    /// Takes the running request's scope (none outside a request).
    pub fn current() -> Self {
        CarriedScope(AuditScope::current())
    }

    /// Runs `work` on this thread in the scope.
    pub fn run<T>(self, work: impl FnOnce() -> T) -> T {
        let _restore = ScopeOnThread::enter(self.0);
        work()
    }
}

/// Sets the thread's scope and clears it again on drop (a panic included): a pooled thread
/// never lends one request's entry to the next.
struct ScopeOnThread;

impl ScopeOnThread {
    fn enter(scope: Option<AuditScope>) -> Self {
        BLOCKING_SCOPE.with(|slot| *slot.borrow_mut() = scope);
        ScopeOnThread
    }
}

impl Drop for ScopeOnThread {
    fn drop(&mut self) {
        BLOCKING_SCOPE.with(|slot| *slot.borrow_mut() = None);
    }
}

/// One page of a partner's log, newest first, and the cursor of the next one.
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Where the next page starts (the last entry examined); absent at the log's start.
    pub next: Option<(u64, u64)>,
}

impl MetaStore {
    /// Adds the running request's entry to a batch about to be committed.
    pub(super) fn stage_audit(&self, batch: &mut WriteBatch) {
        if let Some(entry) = AuditScope::current().and_then(|s| s.entry_for_commit()) {
            self.put_audit(batch, &entry);
        }
    }

    fn put_audit(&self, batch: &mut WriteBatch, entry: &AuditEntry) {
        let key = audit_key(&entry.partner, entry.at_ms, entry.seq);
        batch.put_cf(self.cf(CF_AUDIT), key, codec::encode(entry));
    }

    /// Writes an entry of a request that committed nothing (refused, failed, or a change
    /// outside the metadata), durably. Written directly, not through `commit_alone`: that
    /// would stage the scope's own entry again, under the same key.
    pub fn append_audit(&self, entry: &AuditEntry) -> MetaResult<()> {
        let mut batch = WriteBatch::default();
        self.put_audit(&mut batch, entry);
        let mut options = rocksdb::WriteOptions::default();
        options.set_sync(self.sync_writes);
        self.db.write_opt(batch, &options)?;
        Ok(())
    }

    /// Up to `limit` of `partner`'s entries that `filter` keeps, newest first, strictly
    /// before `before` (a previous page's cursor). At most [`MAX_AUDIT_SCAN`] entries are
    /// examined; the page then ends early with a cursor to go on from.
    pub fn audit_page(
        &self,
        partner: &str,
        filter: &AuditFilter,
        before: Option<(u64, u64)>,
        limit: usize,
    ) -> MetaResult<AuditPage> {
        let prefix = partner_prefix(partner);
        let lower = audit_key(partner, filter.since_ms.unwrap_or(0), 0);
        let until = filter.until_ms.map(|t| (t.saturating_add(1), 0));
        let upper = match (before, until) {
            (Some(b), Some(u)) => Some(b.min(u)),
            (b, u) => b.or(u),
        }
        .map(|(at, seq)| audit_key(partner, at, seq))
        .or_else(|| super::prefix_end(&prefix));
        let mut entries = Vec::new();
        let mut last_seen = None;
        for (examined, item) in self
            .scan_range(CF_AUDIT, lower, upper, Direction::Reverse)
            .enumerate()
        {
            if entries.len() == limit || examined == MAX_AUDIT_SCAN {
                return Ok(AuditPage {
                    entries,
                    next: last_seen,
                });
            }
            let (_, value) = item?;
            let entry: AuditEntry = codec::decode(CF_AUDIT, &value)?;
            last_seen = Some((entry.at_ms, entry.seq));
            if filter.matches(&entry) {
                entries.push(entry);
            }
        }
        Ok(AuditPage {
            entries,
            next: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Some committed change, as any metadata function makes one.
    fn change(store: &MetaStore, name: &str) {
        let guard = store.lock();
        let mut batch = WriteBatch::default();
        store.put_u64(
            &mut batch,
            super::super::keys::CF_COUNTERS,
            name.as_bytes(),
            1,
        );
        store.commit(guard, batch).unwrap();
    }

    #[tokio::test]
    async fn a_commit_in_an_attributed_scope_carries_its_entry_once() {
        let (_dir, store) = super::super::test_store();
        let store = Arc::new(store);
        let scope = AuditScope::request("POST /x".into(), "/x/1".into(), None, None);
        let in_scope = Arc::clone(&store);
        scope
            .clone()
            .run(async move {
                // Not attributed yet: the commit carries nothing.
                change(&in_scope, "a");
                attribute("acme", "client:ci".into());
                let on_thread = Arc::clone(&in_scope);
                spawn_blocking(move || {
                    change(&on_thread, "b");
                    change(&on_thread, "c");
                })
                .await
                .unwrap();
            })
            .await;
        let page = store
            .audit_page("acme", &AuditFilter::default(), None, 10)
            .unwrap();
        assert_eq!(page.entries.len(), 1, "two commits, one entry (same key)");
        assert_eq!(page.entries[0].actor, "client:ci");
        assert_eq!(page.entries[0].outcome, AuditOutcome::Applied);
        assert!(scope.entry_when_answered(409).is_none(), "already applied");
        // Outside any scope nothing is recorded, and a thread does not keep a scope.
        spawn_blocking({
            let store = Arc::clone(&store);
            move || change(&store, "d")
        })
        .await
        .unwrap();
        assert_eq!(
            store
                .audit_page("acme", &AuditFilter::default(), None, 10)
                .unwrap()
                .entries
                .len(),
            1
        );
    }

    #[test]
    fn pages_run_newest_first_and_resume_at_the_cursor() {
        let (_dir, store) = super::super::test_store();
        for n in 0..5u64 {
            let mut entry = AuditScope::server("acme", "t", format!("OP {n}"), "/t".into())
                .entry_when_answered(204)
                .unwrap();
            entry.at_ms = 1_000 + n;
            store.append_audit(&entry).unwrap();
        }
        let other = AuditScope::server("other", "t", "OP x".into(), "/t".into())
            .entry_when_answered(204)
            .unwrap();
        store.append_audit(&other).unwrap();
        let all = AuditFilter::default();
        let first = store.audit_page("acme", &all, None, 2).unwrap();
        let ops: Vec<_> = first.entries.iter().map(|e| e.operation.as_str()).collect();
        assert_eq!(ops, ["OP 4", "OP 3"]);
        let second = store.audit_page("acme", &all, first.next, 10).unwrap();
        let ops: Vec<_> = second
            .entries
            .iter()
            .map(|e| e.operation.as_str())
            .collect();
        assert_eq!(ops, ["OP 2", "OP 1", "OP 0"]);
        assert!(second.next.is_none());
        let window = AuditFilter {
            since_ms: Some(1_001),
            until_ms: Some(1_002),
            ..Default::default()
        };
        let ops: Vec<_> = store
            .audit_page("acme", &window, None, 10)
            .unwrap()
            .entries
            .into_iter()
            .map(|e| e.operation)
            .collect();
        assert_eq!(ops, ["OP 2", "OP 1"]);
    }
}
