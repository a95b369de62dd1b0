//! The installed server run as its unit runs it (user `fwrepo`, the packaged config) under
//! strace, and the unit's `SystemCallFilter=` expanded into the system calls it lets through.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `strace -f -u fwrepo /usr/bin/fwrepo-server serve --config CONFIG --listen 127.0.0.1:0`:
/// strace drops to the user before it starts the server, and records every system call of
/// every thread. Dropping it kills the server (and so strace).
pub struct TracedServer {
    strace: Child,
    /// The server's own pid (strace's child).
    pub pid: u32,
    pub address: String,
    trace: tempfile::NamedTempFile,
    log: tempfile::NamedTempFile,
}

impl TracedServer {
    pub fn start(config: &str) -> TracedServer {
        let trace = tempfile::NamedTempFile::new().unwrap();
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut strace = Command::new("strace")
            .args(["-f", "-qq", "-u", "fwrepo", "-o"])
            .arg(trace.path())
            .args(["/usr/bin/fwrepo-server", "serve", "--config", config])
            .args(["--listen", "127.0.0.1:0"])
            .env_remove("FWREPO_CONFIG")
            .env_remove("FWREPO_DATA_DIR")
            .env_remove("FWREPO_LISTEN")
            .current_dir("/")
            .stdout(Stdio::piped())
            .stderr(log.reopen().unwrap())
            .spawn()
            .expect("spawn strace");
        let stdout = strace.stdout.take().unwrap();
        let mut server = TracedServer {
            strace,
            pid: 0,
            address: String::new(),
            trace,
            log,
        };
        server.address = server.wait_for_address(stdout);
        server.pid = child_of(server.strace.id()).expect("strace's child, the server");
        server
    }

    /// The address of the server's `listening on <address>` line (within 60 s: traced, it
    /// starts slower).
    fn wait_for_address(&mut self, stdout: std::process::ChildStdout) -> String {
        let (sender, announced) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(address) = line.strip_prefix("listening on ") {
                    let _ = sender.send(address.to_string());
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(address) = announced.recv_timeout(Duration::from_millis(100)) {
                return address;
            }
            if let Some(status) = self.strace.try_wait().unwrap() {
                panic!("the packaged server exited ({status}): {}", self.log());
            }
        }
        panic!(
            "the packaged server did not listen within 60 s: {}",
            self.log()
        );
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// SIGTERM to the server; answers its exit status (strace exits with it).
    pub fn stop(&mut self) -> std::process::ExitStatus {
        signal("-TERM", self.pid);
        self.strace.wait().unwrap()
    }

    /// The names of the system calls the server made from its `execve` on (what strace did
    /// before, dropping privileges, is not the server's).
    pub fn syscalls(&self) -> BTreeSet<String> {
        let trace = std::fs::read_to_string(self.trace.path()).unwrap();
        let from_exec = trace
            .find("execve(\"/usr/bin/fwrepo-server\"")
            .expect("the trace holds the server's execve");
        trace[from_exec..]
            .lines()
            .filter_map(|line| {
                let call = line.split_once(' ')?.1.trim_start();
                let name = &call[..call.find('(')?];
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
                    .then(|| name.to_string())
            })
            .filter(|name| !name.is_empty())
            .collect()
    }
}

impl Drop for TracedServer {
    fn drop(&mut self) {
        if self.strace.try_wait().ok().flatten().is_none() {
            if self.pid != 0 {
                signal("-KILL", self.pid);
            }
            self.strace.kill().ok();
            self.strace.wait().ok();
        }
    }
}

fn signal(signal: &str, pid: u32) {
    let _ = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status();
}

/// The process whose parent is `parent` (its only child), from `/proc`.
fn child_of(parent: u32) -> Option<u32> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // `pid (comm) state ppid ...`: comm may hold spaces, so read after its last ')'.
            let ppid: u32 = stat[stat.rfind(')')? + 1..]
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            (ppid == parent).then_some(pid)
        })
}

/// The system calls a unit's `SystemCallFilter=` lines let through: the union of its allow
/// lists minus the union of its `~` deny lists, each `@group` expanded by
/// `systemd-analyze syscall-filter`.
pub fn allowed_syscalls(unit: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(unit).unwrap();
    let (mut allowed, mut denied) = (BTreeSet::new(), BTreeSet::new());
    for value in text
        .lines()
        .filter_map(|l| l.strip_prefix("SystemCallFilter="))
    {
        let (set, items) = match value.strip_prefix('~') {
            Some(items) => (&mut denied, items),
            None => (&mut allowed, value),
        };
        for item in items.split_whitespace() {
            expand(item, set);
        }
    }
    assert!(!allowed.is_empty(), "the unit has an allow list");
    allowed.difference(&denied).cloned().collect()
}

fn expand(item: &str, into: &mut BTreeSet<String>) {
    if !item.starts_with('@') {
        into.insert(item.to_string());
        return;
    }
    let output = Command::new("systemd-analyze")
        .args(["syscall-filter", item])
        .output()
        .expect("run systemd-analyze syscall-filter");
    assert!(
        output.status.success(),
        "systemd-analyze syscall-filter {item}"
    );
    let listing = String::from_utf8(output.stdout).unwrap();
    for member in listing
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        expand(member, into);
    }
}
