//! The Debian packages (`fwrepo-server`, `fwrepo`) as an operator meets them: cargo-deb packs
//! the binaries this test profile built, dpkg installs them, the unit verifies, the server
//! answers `/healthz` and the packaged CLI as the `fwrepo` user within the unit's system-call
//! filter, and a purge leaves the machine as it was found.
//!
//! Runs as root (dpkg). cargo-deb is installed once by `./run test` into
//! `$HOME/.cache/fwrepo/cargo-deb-<version>` or named by `FWREPO_CARGO_DEB`; missing is a
//! failure. One test function: the packages are machine-wide, so nothing may run beside it.

mod package_common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use fwrepo_e2e::{bin_dir, http, workspace_root};
use package_common::{allowed_syscalls, TracedServer};
use serde_json::Value;

/// The cargo-deb release `./run` installs; the cache path depends on it.
const CARGO_DEB_VERSION: &str = "3.8.0";
const PACKAGES: [&str; 2] = ["fwrepo-server", "fwrepo"];
const UNIT: &str = "/usr/lib/systemd/system/fwrepo-server.service";
const CONFIG: &str = "/etc/fwrepo/fwrepo-server.toml";
const DATA_DIR: &str = "/var/lib/fwrepo";

#[tokio::test]
async fn packages_install_verify_serve_as_fwrepo_and_purge_clean() {
    // A run that died half-way may have left the packages installed.
    purge();
    assert_purged();
    let out = tempfile::tempdir().unwrap();
    let debs: Vec<PathBuf> = PACKAGES.iter().map(|p| build_deb(p, out.path())).collect();
    assert!(control_field(&debs[0], "Depends").contains("adduser"));

    let _purge_at_exit = PurgeOnDrop;
    dpkg(&["-i"], &debs);

    assert_unit_verifies_and_is_hardened();
    assert_user_config_and_data_dir();
    reinstall_keeps_config_edits(&debs[0]);
    serves_as_fwrepo_within_its_syscall_filter().await;
    assert_man_pages_and_completions("fwrepo-server", "cl", "client", &["serve", "fsck"]);
    assert_man_pages_and_completions("fwrepo", "pu", "publish", &["pull", "stamp"]);
    cmake_finds_the_packaged_module();

    purge();
    assert_purged();
}

/// Where the `cargo-deb` binary is: `FWREPO_CARGO_DEB`, else the cache of `./run`.
fn cargo_deb() -> PathBuf {
    let path = std::env::var_os("FWREPO_CARGO_DEB")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").expect("HOME is set");
            PathBuf::from(home).join(format!(
                ".cache/fwrepo/cargo-deb-{CARGO_DEB_VERSION}/bin/cargo-deb"
            ))
        });
    assert!(
        path.exists(),
        "cargo-deb is missing at {} (./run test installs it, or set FWREPO_CARGO_DEB)",
        path.display()
    );
    path
}

/// Packs `package` from the binaries of this test's profile: `--no-build --profile dev` makes
/// cargo-deb read `target/release/` assets from the dev profile's directory (a release build
/// would compile RocksDB again). cargo-deb 3.8 warns that dev is unsupported; the version is
/// pinned. `--fast` trades size for seconds.
fn build_deb(package: &str, out: &Path) -> PathBuf {
    let target_dir = bin_dir().parent().expect("target dir").to_path_buf();
    let output = run(Command::new(cargo_deb())
        .args([
            "-p",
            package,
            "--no-build",
            "--profile",
            "dev",
            "--fast",
            "-o",
        ])
        .arg(out)
        .env("CARGO_TARGET_DIR", target_dir)
        .current_dir(workspace_root()));
    let deb = PathBuf::from(String::from_utf8(output.stdout).unwrap().trim());
    assert!(
        deb.starts_with(out) && deb.extension().is_some_and(|e| e == "deb"),
        "cargo-deb printed {}",
        deb.display()
    );
    deb
}

fn control_field(deb: &Path, field: &str) -> String {
    let output = run(Command::new("dpkg-deb").arg("--field").arg(deb).arg(field));
    String::from_utf8(output.stdout).unwrap()
}

/// `systemd-analyze verify` loads the unit the way systemd would (it needs no running systemd,
/// only the unit, its binary and the units it names) and prints every problem; `security
/// --offline` scores the sandbox without a running service (0 = locked down, 10 = none).
fn assert_unit_verifies_and_is_hardened() {
    let verify = run(Command::new("systemd-analyze").args(["verify", UNIT]));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(said.trim().is_empty(), "systemd-analyze verify: {said}");

    let security = run(Command::new("systemd-analyze").args(["security", "--offline=yes", UNIT]));
    let report = String::from_utf8_lossy(&security.stdout).to_string();
    let exposure: f64 = report
        .lines()
        .find_map(|l| l.split("fwrepo-server.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|score| score.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in: {report}"));
    assert!(
        exposure <= 2.0,
        "exposure {exposure} (at most 2.0): {report}"
    );
    let unit = std::fs::read_to_string(UNIT).unwrap();
    for setting in [
        "User=fwrepo",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/fwrepo",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=\n",
        "Restart=on-failure",
    ] {
        assert!(unit.contains(setting), "the unit lacks {setting:?}");
    }
    assert!(
        Path::new("/etc/systemd/system/multi-user.target.wants/fwrepo-server.service").exists(),
        "the unit is enabled at install"
    );
}

/// The id of `name` in the passwd or group database.
fn getent(database: &str, name: &str) -> Option<Vec<String>> {
    let output = Command::new("getent")
        .args([database, name])
        .output()
        .unwrap();
    output.status.success().then(|| {
        String::from_utf8(output.stdout)
            .unwrap()
            .trim()
            .split(':')
            .map(str::to_string)
            .collect()
    })
}

fn assert_user_config_and_data_dir() {
    let user = getent("passwd", "fwrepo").expect("the fwrepo user exists");
    let uid: u32 = user[2].parse().unwrap();
    let gid: u32 = user[3].parse().unwrap();
    assert!(uid < 1000, "a system user (uid {uid})");
    assert_eq!(user[5], DATA_DIR, "home");
    assert_eq!(user[6], "/usr/sbin/nologin", "no login shell");
    let group = getent("group", "fwrepo").expect("the fwrepo group exists");
    assert_eq!(group[2], gid.to_string());

    for (path, owner, mode) in [
        (DATA_DIR, (uid, gid), 0o750),
        ("/etc/fwrepo", (0, gid), 0o750),
        (CONFIG, (0, gid), 0o640),
    ] {
        let meta = std::fs::metadata(path).unwrap();
        assert_eq!((meta.uid(), meta.gid()), owner, "owner of {path}");
        assert_eq!(meta.permissions().mode() & 0o7777, mode, "mode of {path}");
    }
    let conffiles =
        run(Command::new("dpkg-query").args(["-W", "-f=${Conffiles}", "fwrepo-server"]));
    assert!(
        String::from_utf8_lossy(&conffiles.stdout).contains(CONFIG),
        "the config is a conffile"
    );
    let config = std::fs::read_to_string(CONFIG).unwrap();
    assert!(
        config.contains("data_dir = \"/var/lib/fwrepo\""),
        "{config}"
    );
}

/// Installing the package again (as an upgrade does) keeps the operator's edit of the conffile,
/// and the owners and modes.
fn reinstall_keeps_config_edits(deb: &Path) {
    let edit = "\n# listen on the site network (an operator's edit)\n";
    let mut config = std::fs::read_to_string(CONFIG).unwrap();
    config.push_str(edit);
    std::fs::write(CONFIG, &config).unwrap();
    dpkg(&["-i"], &[deb]);
    assert_eq!(std::fs::read_to_string(CONFIG).unwrap(), config);
    assert_user_config_and_data_dir();
}

/// The packaged server as its unit runs it (user `fwrepo`, the packaged config; only the port
/// differs), set up with the offline command the README gives, serving `/healthz` and a
/// publish and pull by the packaged CLI, making no system call the unit's filter refuses.
async fn serves_as_fwrepo_within_its_syscall_filter() {
    let client = run(Command::new("runuser").args([
        "-u",
        "fwrepo",
        "--",
        "/usr/bin/fwrepo-server",
        "client",
        "create",
        "--data-dir",
        DATA_DIR,
        "--partner",
        "acme",
        "--scope",
        "ota:read",
        "--scope",
        "ota:write",
        "--scope",
        "admin",
        "--json",
    ]));
    let client: Value = serde_json::from_slice(&client.stdout).unwrap();
    let uid = getent("passwd", "fwrepo").unwrap()[2].clone();
    let meta = std::fs::metadata(Path::new(DATA_DIR).join("meta")).unwrap();
    assert_eq!(
        meta.uid().to_string(),
        uid,
        "the offline command ran as fwrepo"
    );

    let mut server = TracedServer::start(CONFIG);
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid)).unwrap();
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some(&uid)),
        "the server runs as fwrepo: {status}"
    );
    let response = http()
        .get(format!("http://{}/healthz", server.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", server.log());
    publish_and_pull_with_the_packaged_cli(&format!("http://{}", server.address), &client);
    let exit = server.stop();
    assert!(
        exit.success(),
        "clean stop on SIGTERM: {exit} {}",
        server.log()
    );

    let allowed = allowed_syscalls(Path::new(UNIT));
    let used = server.syscalls();
    assert!(
        used.contains("openat") && used.contains("accept4"),
        "{used:?}"
    );
    let refused: Vec<_> = used.difference(&allowed).collect();
    assert!(
        refused.is_empty(),
        "the unit's SystemCallFilter refuses {refused:?}"
    );
}

/// `/usr/bin/fwrepo publish` a file and `pull` it back, byte for byte.
fn publish_and_pull_with_the_packaged_cli(url: &str, client: &Value) {
    let dir = tempfile::tempdir().unwrap();
    let firmware: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.path().join("fw.bin"), &firmware).unwrap();
    let fwrepo = |args: &[&str]| {
        let mut command = Command::new("/usr/bin/fwrepo");
        for var in [
            "FWREPO_CONFIG",
            "CI",
            "GITHUB_ACTIONS",
            "GITLAB_CI",
            "JENKINS_URL",
        ] {
            command.env_remove(var);
        }
        command
            .args(args)
            .current_dir(dir.path())
            .env("FWREPO_URL", url)
            .env("FWREPO_PARTNER", "acme")
            .env("FWREPO_CLIENT_ID", client["client_id"].as_str().unwrap())
            .env(
                "FWREPO_CLIENT_SECRET",
                client["client_secret"].as_str().unwrap(),
            )
            .env("FWREPO_CACHE_DIR", dir.path().join("cache"));
        run(&mut command)
    };
    let published = fwrepo(&[
        "publish",
        "fw.bin",
        "--type",
        "101",
        "--create-type",
        "--name",
        "fw",
        "--version",
        "1.0.0",
        "--json",
    ]);
    let published: Value = serde_json::from_slice(&published.stdout).unwrap();
    assert_eq!(published["status"], "published", "{published}");
    fwrepo(&[
        "pull",
        "--type",
        "101",
        "--name",
        "fw",
        "--version",
        "1.0.0",
        "-o",
        "back.bin",
    ]);
    assert!(std::fs::read(dir.path().join("back.bin")).unwrap() == firmware);
}

/// The man pages render, and bash completes `partial` to `expected` with the installed file.
fn assert_man_pages_and_completions(bin: &str, partial: &str, expected: &str, more: &[&str]) {
    let page = run(Command::new("man")
        .args(["-l", "-P", "cat"])
        .arg(format!("/usr/share/man/man1/{bin}.1.gz"))
        .env("MANWIDTH", "100"));
    let text = String::from_utf8_lossy(&page.stdout).to_string();
    for word in ["NAME", "SYNOPSIS", expected].iter().chain(more) {
        assert!(text.contains(word), "man {bin} lacks {word:?}: {text}");
    }
    let sub_page = format!("/usr/share/man/man1/{bin}-{expected}.1.gz");
    let sub = run(Command::new("man").args(["-l", "-P", "cat", &sub_page]));
    assert!(
        String::from_utf8_lossy(&sub.stdout).contains("OPTIONS"),
        "{sub_page}"
    );

    let bash = format!("/usr/share/bash-completion/completions/{bin}");
    let script = format!(
        "source {bash}\n\
         fn=$(complete -p {bin} | sed -n 's/.*-F \\([^ ]*\\).*/\\1/p')\n\
         COMP_WORDS=({bin} {partial}); COMP_CWORD=1\n\
         \"$fn\" {bin} {partial} {bin}\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\""
    );
    let completed = run(Command::new("bash").arg("-c").arg(script));
    let words = String::from_utf8_lossy(&completed.stdout).to_string();
    assert!(
        words.lines().any(|w| w == expected),
        "bash completes {partial:?} to {words:?}"
    );
    for (file, marker) in [
        (
            format!("/usr/share/zsh/vendor-completions/_{bin}"),
            format!("#compdef {bin}"),
        ),
        (
            format!("/usr/share/fish/vendor_completions.d/{bin}.fish"),
            format!("complete -c {bin}"),
        ),
    ] {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains(&marker) && text.contains(expected), "{file}");
    }
}

/// A CMake project finds the packaged CMake integration and the packaged CLI with no hint.
fn cmake_finds_the_packaged_module() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("CMakeLists.txt"),
        "cmake_minimum_required(VERSION 3.16)\nproject(probe NONE)\n\
         find_package(FwRepo CONFIG REQUIRED)\n\
         message(STATUS \"found ${FwRepo_DIR} ${FWREPO_EXECUTABLE}\")\n",
    )
    .unwrap();
    let configured = run(Command::new("cmake")
        .arg("-S")
        .arg(dir.path())
        .arg("-B")
        .arg(dir.path().join("build"))
        .env_remove("FWREPO_HOME"));
    let said = String::from_utf8_lossy(&configured.stdout).to_string();
    assert!(
        said.contains("found /usr/share/cmake/FwRepo /usr/bin/fwrepo"),
        "{said}"
    );
}

/// Purges both packages (a no-op for one not installed).
fn purge() {
    dpkg(&["--purge"], &PACKAGES);
}

/// Runs dpkg to success, waiting (up to 2 min) while an apt or dpkg run elsewhere holds its
/// lock.
fn dpkg(args: &[&str], operands: &[impl AsRef<std::ffi::OsStr>]) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut command = Command::new("dpkg");
        command.args(args).args(operands);
        let output = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.success() || !stderr.contains("lock") || Instant::now() > deadline {
            assert!(output.status.success(), "{command:?}: {stderr}");
            return;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Purges at the end even when an assertion failed half-way.
struct PurgeOnDrop;

impl Drop for PurgeOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("dpkg").arg("--purge").args(PACKAGES).output();
    }
}

fn assert_purged() {
    for package in PACKAGES {
        let status = Command::new("dpkg-query")
            .args(["-W", "-f=${db:Status-Status}", package])
            .output()
            .unwrap();
        let state = String::from_utf8_lossy(&status.stdout).to_string();
        assert!(
            state.is_empty() || state == "not-installed",
            "{package}: {state}"
        );
    }
    for path in [
        "/usr/bin/fwrepo-server",
        "/usr/bin/fwrepo",
        "/usr/share/cmake/FwRepo",
        UNIT,
        "/etc/systemd/system/multi-user.target.wants/fwrepo-server.service",
        "/etc/fwrepo",
        DATA_DIR,
    ] {
        assert!(!Path::new(path).exists(), "{path} is left after purge");
    }
    assert!(
        getent("passwd", "fwrepo").is_none(),
        "the fwrepo user is left"
    );
    assert!(
        getent("group", "fwrepo").is_none(),
        "the fwrepo group is left"
    );
}

/// Runs a command to success; answers its output.
fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}
