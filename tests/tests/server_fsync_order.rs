//! Durability order on disk, which SIGKILL tests cannot see (the page cache survives a killed
//! process, not a power loss): the real server is traced with `strace` during uploads into a
//! fresh data directory, and the order of mkdir, rename and fsync calls is checked.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use fwrepo_e2e::{sha256_hex, Ota, TestServer};

/// One system call of the trace: the lines where it started and where it returned.
#[derive(Debug, Clone)]
struct Call {
    start: usize,
    end: usize,
    name: String,
    text: String,
    ok: bool,
}

/// Parses `strace -f -y` output, joining `<unfinished ...>` and `<... resumed>` halves.
fn parse_trace(trace: &str) -> Vec<Call> {
    let mut pending = std::collections::HashMap::<String, (usize, String)>::new();
    let mut calls = Vec::new();
    for (index, line) in trace.lines().enumerate() {
        let Some((pid, rest)) = line.trim_start().split_once(char::is_whitespace) else {
            continue;
        };
        let rest = rest.trim_start();
        if let Some(head) = rest.strip_suffix("<unfinished ...>") {
            pending.insert(pid.to_string(), (index, head.to_string()));
            continue;
        }
        let (start, text) = if rest.starts_with("<...") {
            match pending.remove(pid) {
                Some((start, head)) => (start, format!("{head}{rest}")),
                None => continue,
            }
        } else {
            (index, rest.to_string())
        };
        let name = text
            .trim_start_matches("<... ")
            .split(['(', ' '])
            .next()
            .unwrap_or_default()
            .to_string();
        let ok = text
            .rsplit_once(" = ")
            .is_some_and(|(_, result)| !result.trim_start().starts_with('-'));
        calls.push(Call {
            start,
            end: index,
            name,
            text,
            ok,
        });
    }
    calls
}

fn is_fsync(call: &Call) -> bool {
    call.ok && (call.name == "fsync" || call.name == "fdatasync")
}

/// The fsync of directory `dir` (the path strace prints for the descriptor).
fn fsyncs_dir<'a>(calls: &'a [Call], dir: &'a str) -> impl Iterator<Item = &'a Call> + 'a {
    let needle = format!("<{dir}>");
    calls
        .iter()
        .filter(move |c| is_fsync(c) && c.text.contains(&needle))
}

/// A commit of the metadata store: a sync of RocksDB's write-ahead log.
fn is_wal_sync(call: &Call, meta_dir: &str) -> bool {
    is_fsync(call) && call.text.contains(meta_dir) && call.text.contains(".log>")
}

fn mkdir_of<'a>(calls: &'a [Call], dir: &str) -> Option<&'a Call> {
    let quoted = format!("\"{dir}\"");
    calls
        .iter()
        .find(|c| c.ok && c.name.starts_with("mkdir") && c.text.contains(&quoted))
}

/// A new directory's entry must be fsync'd (its parent) after the mkdir and before the blob
/// inside it is linked.
fn assert_dir_durable_before(calls: &[Call], dir: &str, link: &Call) {
    let Some(mkdir) = mkdir_of(calls, dir) else {
        return;
    };
    let parent = std::path::Path::new(dir)
        .parent()
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        fsyncs_dir(calls, parent).any(|f| f.start > mkdir.end && f.end < link.start),
        "{dir} was created (line {}) but {parent} was not fsync'd before the blob was linked into it (line {})",
        mkdir.start,
        link.start
    );
}

/// `strace -f -y` attached to a running server, writing to a file in its data dir.
struct Strace {
    child: std::process::Child,
    path: std::path::PathBuf,
    /// Kept open: strace reports each thread it attaches on stderr, and dies of SIGPIPE
    /// if nobody reads.
    _stderr: BufReader<std::process::ChildStderr>,
}

impl Strace {
    /// Attaches and returns once strace has attached to every thread of the server.
    fn attach(server: &TestServer, syscalls: &str) -> Strace {
        let path = server.data_dir.path().join("strace.txt");
        let mut child = Command::new("strace")
            .args(["-f", "-y", "-e"])
            .arg(format!("trace={syscalls}"))
            .arg("-o")
            .arg(&path)
            .args(["-p", &server.pid().to_string()])
            .stderr(Stdio::piped())
            .spawn()
            .expect("strace is installed by ./run test");
        // strace reports on stderr once it has attached to every thread of the server.
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut attached = String::new();
        stderr.read_line(&mut attached).unwrap();
        assert!(attached.contains("attached"), "strace: {attached}");
        Strace {
            child,
            path,
            _stderr: stderr,
        }
    }

    /// Detaches (SIGINT makes strace let go of the server, which keeps running) and answers
    /// the trace.
    fn detach(mut self) -> String {
        Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        self.child.wait().unwrap();
        std::fs::read_to_string(&self.path).unwrap()
    }
}

/// Issue 11 item 1: every directory entry a blob's visibility depends on (new shard
/// directories and their parents) is durable before the metadata that refers to the blob
/// commits: mkdir(shard) → fsync(parent) → rename into the shard → fsync(shard) → WAL sync.
#[tokio::test]
async fn fs_store_fsyncs_every_new_directory_entry() {
    let server = TestServer::builder()
        .client("acme", &["ota:read", "ota:write", "admin"])
        .args(["--sweep-interval-secs", "3600"])
        .start();
    let ota = Ota::new(&server, 0).await;
    let data = std::fs::canonicalize(server.data_path()).unwrap();
    let strace = Strace::attach(
        &server,
        "fsync,fdatasync,rename,renameat,renameat2,link,linkat,mkdir,mkdirat,openat",
    );
    let mut blobs = Vec::new();
    for i in 0..12 {
        let bytes = format!("durable shard test blob {i}")
            .repeat(100)
            .into_bytes();
        let sha = ota.upload(bytes.clone()).await;
        assert_eq!(sha, sha256_hex(&bytes));
        blobs.push(sha);
    }
    let trace = strace.detach();
    let calls = parse_trace(&trace);
    let shard_root = data.join("blobs/sha256");
    let meta_dir = data.join("meta");
    let (shard_root, meta_dir) = (shard_root.to_str().unwrap(), meta_dir.to_str().unwrap());
    let mut first_level_created = 0;
    for sha in &blobs {
        let first = format!("{shard_root}/{}", &sha[0..2]);
        let second = format!("{first}/{}", &sha[2..4]);
        let target = format!("{second}/{sha}");
        let link = calls
            .iter()
            .find(|c| {
                c.ok && (c.name.starts_with("rename") || c.name.starts_with("link"))
                    && c.text.contains(&target)
            })
            .unwrap_or_else(|| panic!("no rename/link of {target} in the trace:\n{trace}"));
        assert!(
            mkdir_of(&calls, &second).is_some(),
            "a fresh data dir creates shard {second} (trace:\n{trace})"
        );
        first_level_created += usize::from(mkdir_of(&calls, &first).is_some());
        assert_dir_durable_before(&calls, &first, link);
        assert_dir_durable_before(&calls, &second, link);
        let shard_fsync = fsyncs_dir(&calls, &second)
            .find(|f| f.start > link.end)
            .unwrap_or_else(|| panic!("{second} not fsync'd after the blob was linked"));
        let commit = calls
            .iter()
            .find(|c| c.start > link.end && is_wal_sync(c, meta_dir))
            .unwrap_or_else(|| panic!("no WAL sync (the hold) after linking {sha}:\n{trace}"));
        assert!(
            shard_fsync.end < commit.start,
            "the hold on {sha} committed (line {}) before its shard directory was fsync'd (line {})",
            commit.start,
            shard_fsync.start
        );
    }
    assert!(
        first_level_created > 0,
        "some first-level shard directories were created"
    );
}

/// Issue 11 item 4: writers do not queue behind each other's WAL sync. 64 concurrent writes
/// (each a read-check-write under the writer lock) must share syncs: one per write would mean
/// the lock is held across the sync, and concurrent publishers get one fsync's worth of
/// throughput between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_share_wal_syncs() {
    const WRITERS: i64 = 64;
    let server = TestServer::builder()
        .client("acme", &["ota:read", "ota:write", "admin"])
        .args(["--sweep-interval-secs", "3600"])
        .start();
    let ota = std::sync::Arc::new(Ota::new(&server, 0).await);
    let meta_dir = std::fs::canonicalize(server.data_path())
        .unwrap()
        .join("meta");
    let strace = Strace::attach(&server, "fsync,fdatasync");
    let writers: Vec<_> = (0..WRITERS)
        .map(|i| {
            let ota = ota.clone();
            tokio::spawn(async move { ota.create_type(101 + i).await })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let trace = strace.detach();
    let wal_syncs = parse_trace(&trace)
        .iter()
        .filter(|c| is_wal_sync(c, meta_dir.to_str().unwrap()))
        .count();
    assert!(wal_syncs > 0, "the writes were synced at all:\n{trace}");
    assert!(
        wal_syncs < (WRITERS as usize) * 3 / 4,
        "{wal_syncs} WAL syncs for {WRITERS} concurrent writes: they did not share syncs"
    );
    let types: serde_json::Value = ota.get_json("/types").await;
    assert_eq!(
        types.as_array().map(Vec::len),
        Some(WRITERS as usize),
        "every write answered 201 is there"
    );
}
