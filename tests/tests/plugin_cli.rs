//! End-to-end tests of the `fwrepo` CLI against the real server: publish (idempotent, dirty,
//! republish), query, pull (verify, cache, Range resume), stamp, verify, CI tags, exit codes.
//! Git repositories are made with the `git` CLI here; the plugin itself reads them with git2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fwrepo_e2e::{bin, http, sha256_hex, validate, TestServer};
use serde_json::Value;

/// Variables by which the plugin detects a CI; cleared so tests behave the same inside CI.
const CI_VARS: &[&str] = &[
    "CI",
    "GITHUB_ACTIONS",
    "GITHUB_EVENT_NAME",
    "GITHUB_EVENT_PATH",
    "GITHUB_SHA",
    "GITHUB_REF",
    "GITHUB_HEAD_REF",
    "GITHUB_RUN_ID",
    "GITHUB_RUN_NUMBER",
    "GITLAB_CI",
    "CI_COMMIT_SHA",
    "CI_MERGE_REQUEST_IID",
    "BUILDKITE",
    "CIRCLECI",
    "TF_BUILD",
    "JENKINS_URL",
    "JENKINS_HOME",
    "FWREPO_URL",
    "FWREPO_PARTNER",
    "FWREPO_CLIENT_ID",
    "FWREPO_CLIENT_SECRET",
    "FWREPO_CONFIG",
    "FWREPO_TYPE",
    "FWREPO_UNTRACKED",
    "FWREPO_CACHE_DIR",
];

struct Rig {
    server: TestServer,
    cache: tempfile::TempDir,
}

impl Rig {
    fn start() -> Rig {
        Rig {
            server: TestServer::start(),
            cache: tempfile::tempdir().unwrap(),
        }
    }

    /// `fwrepo` with the server's credentials in the environment.
    fn cmd(&self, dir: &Path) -> Command {
        let client = self.server.client(0);
        let mut cmd = Command::new(bin("fwrepo"));
        for var in CI_VARS {
            cmd.env_remove(var);
        }
        cmd.current_dir(dir)
            .env("FWREPO_URL", &self.server.url)
            .env("FWREPO_PARTNER", &client.partner_id)
            .env("FWREPO_CLIENT_ID", &client.client_id)
            .env("FWREPO_CLIENT_SECRET", &client.client_secret)
            .env("FWREPO_CACHE_DIR", self.cache.path())
            .env("FWREPO_RETRY_BASE_MS", "50");
        cmd
    }

    fn run(&self, dir: &Path, args: &[&str]) -> Output {
        self.cmd(dir).args(args).output().expect("run fwrepo")
    }

    fn ok_json(&self, dir: &Path, args: &[&str]) -> Value {
        let out = self.run(dir, args);
        assert!(
            out.status.success(),
            "fwrepo {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "fwrepo {args:?} printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    async fn create_type(&self, fw_type: i64) {
        let token = self.server.token().await;
        let response = http()
            .post(format!("{}/types", self.server.partner_url("acme")))
            .bearer_auth(token)
            .json(&serde_json::json!({"name": format!("type {fw_type}"), "type": fw_type}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "create type {fw_type}");
    }
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A repository on `main` with one commit; answers (dir, head sha).
fn repo() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    std::fs::write(dir.path().join("src.c"), "int main(void) { return 0; }\n").unwrap();
    std::fs::write(dir.path().join(".gitignore"), "build/\n").unwrap();
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "first"]);
    let sha = git(dir.path(), &["rev-parse", "HEAD"]);
    (dir, sha)
}

fn commit(dir: &Path, content: &str) -> String {
    std::fs::write(dir.join("src.c"), content).unwrap();
    git(dir, &["commit", "-q", "-am", content]);
    git(dir, &["rev-parse", "HEAD"])
}

/// A binary artifact outside the repository (so writing it never dirties the tree).
fn artifact(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn tags(record: &Value) -> Vec<String> {
    record["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

fn publish_args<'a>(
    file: &'a str,
    src: &'a str,
    version: &'a str,
    fw_type: &'a str,
) -> Vec<&'a str> {
    vec![
        "publish",
        file,
        "--type",
        fw_type,
        "--name",
        "fw",
        "--version",
        version,
        "--source-dir",
        src,
        "--json",
    ]
}

#[tokio::test]
async fn plugin_publish_twice_is_one_record_and_other_bytes_are_refused() {
    let rig = Rig::start();
    rig.create_type(101).await;
    let (src, sha) = repo();
    git(src.path(), &["tag", "v1.0.0"]);
    let out = tempfile::tempdir().unwrap();
    let file = artifact(out.path(), "fw.bin", b"firmware image one");
    let (f, s) = (file.to_str().unwrap(), src.path().to_str().unwrap());

    let first = rig.ok_json(out.path(), &publish_args(f, s, "1.0.0", "101"));
    assert_eq!(first["status"], "published");
    let record = &first["record"];
    validate("PoolRecord", record);
    // On its release tag with a clean tree, the version is the plain semver.
    assert_eq!(record["version"], "1.0.0");
    assert_eq!(record["sha256"], sha256_hex(b"firmware image one"));
    let t = tags(record);
    for expected in [
        "semver:1.0.0".to_string(),
        "release".into(),
        format!("git:{sha}"),
        format!("git-short:{}", &sha[..7]),
        "branch:main".into(),
        "git-tag:v1.0.0".into(),
        "describe:v1.0.0-0-g".to_string() + &sha[..7],
    ] {
        assert!(t.contains(&expected), "missing tag {expected} in {t:?}");
    }
    assert!(!t.contains(&"dirty".to_string()));

    // The same build again: the existing record, exit 0, still one record.
    let again = rig.ok_json(out.path(), &publish_args(f, s, "1.0.0", "101"));
    assert_eq!(again["status"], "existing");
    assert_eq!(again["record"]["id"], record["id"]);
    let all = rig.ok_json(out.path(), &["list", "--type", "101", "--json"]);
    assert_eq!(all.as_array().unwrap().len(), 1);

    // Other bytes under the same name and version: refused with exit code 7.
    std::fs::write(&file, b"firmware image two").unwrap();
    let refused = rig.run(out.path(), &publish_args(f, s, "1.0.0", "101"));
    assert_eq!(
        refused.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("--allow-republish") && stderr.contains("immutable"),
        "{stderr}"
    );

    // ...unless --allow-republish: a new record with `+r2`, and re-running that is a no-op too.
    let mut args = publish_args(f, s, "1.0.0", "101");
    args.push("--allow-republish");
    let republished = rig.ok_json(out.path(), &args);
    assert_eq!(republished["status"], "republished");
    assert_eq!(republished["record"]["version"], "1.0.0+r2");
    assert_ne!(
        republished["record"]["versionNumber"],
        record["versionNumber"]
    );
    let again = rig.ok_json(out.path(), &args);
    assert_eq!(again["status"], "existing");
    assert_eq!(again["record"]["version"], "1.0.0+r2");
}

#[tokio::test]
async fn plugin_dirty_tree_is_tagged_and_untracked_handling_is_configurable() {
    let rig = Rig::start();
    rig.create_type(101).await;
    let (src, sha) = repo();
    let out = tempfile::tempdir().unwrap();
    let s = src.path().to_str().unwrap();

    // Untracked files do not make the tree dirty by default...
    std::fs::write(src.path().join("notes.txt"), "scratch").unwrap();
    let file = artifact(out.path(), "a.bin", b"untracked default");
    let clean = rig.ok_json(
        out.path(),
        &publish_args(file.to_str().unwrap(), s, "0.1.0", "101"),
    );
    assert_eq!(clean["record"]["version"], format!("0.1.0+g{}", &sha[..7]));
    assert!(!tags(&clean["record"]).contains(&"dirty".to_string()));
    // ...but do with --untracked dirty (or `untracked = "dirty"` / FWREPO_UNTRACKED=dirty).
    let file = artifact(out.path(), "b.bin", b"untracked counted");
    let mut args = publish_args(file.to_str().unwrap(), s, "0.1.1", "101");
    args.extend(["--untracked", "dirty"]);
    let dirty = rig.ok_json(out.path(), &args);
    assert!(tags(&dirty["record"]).contains(&"dirty".to_string()));
    std::fs::remove_file(src.path().join("notes.txt")).unwrap();

    // A modified tracked file is always dirty: `dirty` tag and `.dirty` build metadata.
    std::fs::write(src.path().join("src.c"), "int main(void) { return 1; }\n").unwrap();
    let file = artifact(out.path(), "c.bin", b"dirty build");
    let dirty = rig.ok_json(
        out.path(),
        &publish_args(file.to_str().unwrap(), s, "0.2.0", "101"),
    );
    assert_eq!(
        dirty["record"]["version"],
        format!("0.2.0+g{}.dirty", &sha[..7])
    );
    let t = tags(&dirty["record"]);
    assert!(
        t.contains(&"dirty".to_string()) && t.contains(&format!("git:{sha}")),
        "{t:?}"
    );
    let listed = rig.ok_json(out.path(), &["list", "--tag", "dirty", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn plugin_query_by_commit_tag_and_semver_range() {
    let rig = Rig::start();
    rig.create_type(102).await;
    let (src, _) = repo();
    let out = tempfile::tempdir().unwrap();
    let s = src.path().to_str().unwrap();
    let mut shas = Vec::new();
    for (i, version) in ["1.0.0", "1.2.0", "2.0.0"].iter().enumerate() {
        let sha = commit(
            src.path(),
            &format!("int main(void) {{ return {}; }}\n", i + 10),
        );
        let file = artifact(
            out.path(),
            &format!("{i}.bin"),
            format!("image {version}").as_bytes(),
        );
        rig.ok_json(
            out.path(),
            &publish_args(file.to_str().unwrap(), s, version, "102"),
        );
        shas.push(sha);
    }
    let by_tag = rig.ok_json(
        out.path(),
        &["query", "--json", "--tag", &format!("git:{}", shas[1])],
    );
    let by_tag = by_tag.as_array().unwrap();
    assert_eq!(by_tag.len(), 1);
    assert!(by_tag[0]["version"]
        .as_str()
        .unwrap()
        .starts_with("1.2.0+g"));
    let by_commit = rig.ok_json(out.path(), &["list", "--json", "--commit", &shas[2][..7]]);
    assert_eq!(by_commit.as_array().unwrap().len(), 1);
    let ones = rig.ok_json(
        out.path(),
        &["list", "--json", "--type", "102", "--version-req", "^1"],
    );
    assert_eq!(ones.as_array().unwrap().len(), 2);
    for record in ones.as_array().unwrap() {
        validate("PoolRecord", record);
    }
    let newest_one = rig.ok_json(
        out.path(),
        &[
            "list",
            "--json",
            "--type",
            "102",
            "--version-req",
            "^1",
            "--latest",
        ],
    );
    assert!(newest_one[0]["version"]
        .as_str()
        .unwrap()
        .starts_with("1.2.0"));
    // Paging: a page size of 1 still lists everything.
    let paged = rig.ok_json(
        out.path(),
        &["list", "--json", "--page-size", "1", "--tag", "branch:main"],
    );
    assert_eq!(paged.as_array().unwrap().len(), 3);
    // Device-type associations: the record becomes a firmware image of the device type.
    let file = artifact(out.path(), "dt.bin", b"image for a device type");
    let mut args = publish_args(file.to_str().unwrap(), s, "2.1.0", "102");
    args.extend(["--device-type", "dt-1"]);
    let associated = rig.ok_json(out.path(), &args);
    let images: Value = http()
        .get(format!(
            "{}/deviceTypes/dt-1/firmwareImages",
            rig.server.partner_url("acme")
        ))
        .bearer_auth(rig.server.token().await)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        images["content"][0]["versionNumber"], associated["record"]["versionNumber"],
        "{images}"
    );
    // The table form.
    let table = rig.run(out.path(), &["list", "--type", "102"]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.starts_with("TYPE") && table.lines().count() == 5,
        "{table}"
    );
}

#[tokio::test]
async fn plugin_pull_verifies_caches_and_resumes_with_range() {
    let rig = Rig::start();
    rig.create_type(103).await;
    let (src, _) = repo();
    let out = tempfile::tempdir().unwrap();
    let bytes: Vec<u8> = (0..1_500_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let file = artifact(out.path(), "big.bin", &bytes);
    let published = rig.ok_json(
        out.path(),
        &publish_args(
            file.to_str().unwrap(),
            src.path().to_str().unwrap(),
            "3.1.0",
            "103",
        ),
    );
    let sha = published["record"]["sha256"].as_str().unwrap().to_string();
    let vn = published["record"]["versionNumber"]
        .as_str()
        .unwrap()
        .to_string();

    // Newest match by tag: downloaded and verified.
    let first = out.path().join("first.bin");
    let pulled = rig.ok_json(
        out.path(),
        &[
            "pull",
            "--type",
            "103",
            "--tag",
            "branch:main",
            "-o",
            first.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(pulled["cached"], false);
    assert_eq!(std::fs::read(&first).unwrap(), bytes);
    // Same bytes again (exact version number this time): from the cache, no download.
    let second = out.path().join("second.bin");
    let pulled = rig.ok_json(
        out.path(),
        &[
            "pull",
            "--type",
            "103",
            "--version-number",
            &vn,
            "-o",
            second.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(pulled["cached"], true);
    assert_eq!(std::fs::read(&second).unwrap(), bytes);
    assert!(rig
        .cache
        .path()
        .join("sha256")
        .join(&sha[..2])
        .join(&sha)
        .is_file());

    // An interrupted download left half the bytes in the cache's partial/ directory: resumed.
    let cache2 = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(cache2.path().join("partial")).unwrap();
    let half = bytes.len() / 2;
    std::fs::write(
        cache2.path().join("partial").join(format!("{sha}.part")),
        &bytes[..half],
    )
    .unwrap();
    let third = out.path().join("third.bin");
    let output = rig
        .cmd(out.path())
        .env("FWREPO_CACHE_DIR", cache2.path())
        .args([
            "pull",
            "--type",
            "103",
            "--version-number",
            &vn,
            "-o",
            third.to_str().unwrap(),
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let pulled: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(pulled["resumed_from"], half as u64);
    assert_eq!(std::fs::read(&third).unwrap(), bytes);
    assert!(!cache2
        .path()
        .join("partial")
        .join(format!("{sha}.part"))
        .exists());

    // A corrupt partial download fails verification (exit 4) and is discarded; a retry works.
    let cache3 = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(cache3.path().join("partial")).unwrap();
    let part = cache3.path().join("partial").join(format!("{sha}.part"));
    std::fs::write(&part, vec![0xAAu8; half]).unwrap();
    let fourth = out.path().join("fourth.bin");
    let pull = |cache: &Path| {
        rig.cmd(out.path())
            .env("FWREPO_CACHE_DIR", cache)
            .args([
                "pull",
                "--type",
                "103",
                "--tag",
                "semver:3.1.0",
                "-o",
                fourth.to_str().unwrap(),
            ])
            .output()
            .unwrap()
    };
    let failed = pull(cache3.path());
    assert_eq!(
        failed.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&failed.stderr)
    );
    assert!(!part.exists());
    assert!(
        !fourth.exists(),
        "a failed verification must not write the output"
    );
    assert!(pull(cache3.path()).status.success());
    assert_eq!(std::fs::read(&fourth).unwrap(), bytes);
}

#[tokio::test]
async fn plugin_exit_codes_are_documented_ones() {
    let rig = Rig::builder_with_reader();
    rig.create_type(101).await;
    let (src, _) = repo();
    let out = tempfile::tempdir().unwrap();
    let file = artifact(out.path(), "x.bin", b"x");
    let (f, s) = (file.to_str().unwrap(), src.path().to_str().unwrap());
    // Not found: 3.
    let none = rig.run(
        out.path(),
        &["pull", "--type", "101", "--tag", "nothing", "-o", "o.bin"],
    );
    assert_eq!(
        none.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&none.stderr)
    );
    // An unregistered firmware type: 3 before anything is uploaded; --create-type makes it.
    let unknown = rig.run(out.path(), &publish_args(f, s, "1.0.0", "160"));
    assert_eq!(
        unknown.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("--create-type"));
    let mut args = publish_args(f, s, "1.0.0", "160");
    args.push("--create-type");
    assert_eq!(rig.ok_json(out.path(), &args)["status"], "published");
    // Bad secret: 5.
    let bad = rig
        .cmd(out.path())
        .env("FWREPO_CLIENT_SECRET", "wrong")
        .args(["list"])
        .output()
        .unwrap();
    assert_eq!(
        bad.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    assert!(
        !String::from_utf8_lossy(&bad.stderr).contains("wrong"),
        "secrets are never printed"
    );
    // A read-only client publishing: 5 (forbidden).
    let reader = &rig.server.clients[1];
    let forbidden = rig
        .cmd(out.path())
        .env("FWREPO_CLIENT_ID", &reader.client_id)
        .env("FWREPO_CLIENT_SECRET", &reader.client_secret)
        .args(publish_args(f, s, "1.0.0", "101"))
        .output()
        .unwrap();
    assert_eq!(
        forbidden.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&forbidden.stderr)
    );
    // ...unless --allow-failure: a warning and exit 0.
    let mut args = publish_args(f, s, "1.0.0", "101");
    args.push("--allow-failure");
    let allowed = rig
        .cmd(out.path())
        .env("FWREPO_CLIENT_ID", &reader.client_id)
        .env("FWREPO_CLIENT_SECRET", &reader.client_secret)
        .args(args)
        .output()
        .unwrap();
    assert!(allowed.status.success());
    assert!(String::from_utf8_lossy(&allowed.stderr).contains("warning"));
    // Nobody listening: 6 after the retries.
    let port = fwrepo_e2e::free_port();
    let down = rig
        .cmd(out.path())
        .env("FWREPO_URL", format!("http://127.0.0.1:{port}"))
        .args(["--retries", "1", "list"])
        .output()
        .unwrap();
    assert_eq!(
        down.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    // Not semver: 1, naming the source.
    let invalid = rig.run(out.path(), &publish_args(f, s, "1.2", "101"));
    assert_eq!(invalid.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&invalid.stderr).contains("from --version"));
    // No server configured with --skip-if-unconfigured: one line, exit 0.
    let skipped = rig
        .cmd(out.path())
        .env_remove("FWREPO_URL")
        .args([
            "publish",
            f,
            "--type",
            "101",
            "--version",
            "1.0.0",
            "--skip-if-unconfigured",
        ])
        .output()
        .unwrap();
    assert!(skipped.status.success());
    let stderr = String::from_utf8_lossy(&skipped.stderr);
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.contains("skipping publish"))
            .count(),
        1,
        "{stderr}"
    );
}

impl Rig {
    /// Client 0 has every scope, client 1 only `ota:read`.
    fn builder_with_reader() -> Rig {
        let server = TestServer::builder()
            .client("acme", &["ota:read", "ota:write", "admin"])
            .client("acme", &["ota:read"])
            .start();
        Rig {
            server,
            cache: tempfile::tempdir().unwrap(),
        }
    }
}

#[tokio::test]
async fn plugin_ci_environments_become_tags() {
    let rig = Rig::start();
    rig.create_type(104).await;
    let (src, _) = repo();
    // A pull-request checkout: HEAD is a merge commit GitHub made; the PR head is its parent.
    let pr_head = commit(src.path(), "int main(void) { return 7; }\n");
    let merge = commit(src.path(), "int main(void) { return 8; }\n");
    git(src.path(), &["checkout", "-q", "--detach"]);
    let out = tempfile::tempdir().unwrap();
    let event = out.path().join("event.json");
    std::fs::write(
        &event,
        serde_json::json!({"number": 7, "pull_request": {"number": 7, "head": {"sha": pr_head, "ref": "topic"}}}).to_string(),
    )
    .unwrap();
    let file = artifact(out.path(), "gh.bin", b"github build");
    let output = rig
        .cmd(out.path())
        .envs([
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
            ("GITHUB_SHA", merge.as_str()),
            ("GITHUB_REF", "refs/pull/7/merge"),
            ("GITHUB_HEAD_REF", "topic"),
            ("GITHUB_RUN_NUMBER", "42"),
            ("GITHUB_RUN_ID", "9001"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "acme/fw"),
        ])
        .args(publish_args(
            file.to_str().unwrap(),
            src.path().to_str().unwrap(),
            "1.0.0",
            "104",
        ))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let record = &serde_json::from_slice::<Value>(&output.stdout).unwrap()["record"];
    let t = tags(record);
    for expected in [
        format!("git:{pr_head}"),
        "ci:github".into(),
        "build:42".into(),
        "pipeline:9001".into(),
        "pr:7".into(),
        "branch:topic".into(),
        "build-url:https://github.com/acme/fw/actions/runs/9001".into(),
    ] {
        assert!(t.contains(&expected), "missing {expected} in {t:?}");
    }
    assert!(
        !t.contains(&format!("git:{merge}")),
        "the synthetic merge commit must not be stamped"
    );
    assert_eq!(record["version"], format!("1.0.0+g{}", &pr_head[..7]));

    // GitLab CI.
    git(src.path(), &["checkout", "-q", "main"]);
    let file = artifact(out.path(), "gl.bin", b"gitlab build");
    let output = rig
        .cmd(out.path())
        .envs([
            ("GITLAB_CI", "true"),
            ("CI_PIPELINE_ID", "555"),
            ("CI_PIPELINE_IID", "12"),
            ("CI_JOB_ID", "777"),
            (
                "CI_JOB_URL",
                "https://gitlab.example.com/acme/fw/-/jobs/777",
            ),
            ("CI_COMMIT_SHA", merge.as_str()),
            ("CI_COMMIT_REF_NAME", "main"),
            ("CI_COMMIT_BRANCH", "main"),
        ])
        .args(publish_args(
            file.to_str().unwrap(),
            src.path().to_str().unwrap(),
            "1.0.1",
            "104",
        ))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let record = &serde_json::from_slice::<Value>(&output.stdout).unwrap()["record"];
    let t = tags(record);
    for expected in [
        format!("git:{merge}"),
        "ci:gitlab".into(),
        "build:12".into(),
        "pipeline:555".into(),
        "job:777".into(),
        "branch:main".into(),
        "build-url:https://gitlab.example.com/acme/fw/-/jobs/777".into(),
    ] {
        assert!(t.contains(&expected), "missing {expected} in {t:?}");
    }
}

#[tokio::test]
async fn plugin_stamp_verify_config_file_and_token_reuse() {
    let rig = Rig::start();
    rig.create_type(105).await;
    let (src, sha) = repo();
    git(
        src.path(),
        &[
            "remote",
            "add",
            "origin",
            "https://deploy:hunter2@git.example.com/acme/fw.git",
        ],
    );
    let s = src.path().to_str().unwrap();
    let stamp = rig.ok_json(
        src.path(),
        &["stamp", "--version", "2.1.0", "--format", "json"],
    );
    assert_eq!(stamp["version"], format!("2.1.0+g{}", &sha[..7]));
    assert_eq!(stamp["git"]["sha"], sha);
    assert_eq!(
        stamp["git"]["remote"],
        "https://git.example.com/acme/fw.git"
    );
    let env = rig.run(
        src.path(),
        &["stamp", "--version", "2.1.0", "--format", "rustc-env"],
    );
    let env = String::from_utf8_lossy(&env.stdout);
    assert!(
        env.contains(&format!("cargo:rustc-env=FWREPO_GIT_SHA={sha}\n")),
        "{env}"
    );
    assert!(!env.contains("hunter2"));
    let cmake = rig.run(
        src.path(),
        &["stamp", "--version", "2.1.0", "--format", "cmake"],
    );
    assert!(String::from_utf8_lossy(&cmake.stdout).contains("set(FWREPO_VERSION \"2.1.0+g"));

    // A binary embedding its stamp verifies against its record; a tampered copy does not.
    let embedded = stamp_string(&rig, src.path());
    let out = tempfile::tempdir().unwrap();
    let mut image = b"\x7fFWIMAGE\0".to_vec();
    image.extend_from_slice(embedded.as_bytes());
    image.extend_from_slice(b"\0payload");
    let file = artifact(out.path(), "stamped.bin", &image);
    let published = rig.ok_json(
        out.path(),
        &publish_args(file.to_str().unwrap(), s, "2.1.0", "105"),
    );
    assert!(tags(&published["record"])
        .contains(&"repo:https://git.example.com/acme/fw.git".to_string()));
    let verified = rig.ok_json(out.path(), &["verify", file.to_str().unwrap(), "--json"]);
    assert_eq!(verified["verified"], true);
    image.push(b'!');
    let tampered = artifact(out.path(), "tampered.bin", &image);
    let failed = rig.run(out.path(), &["verify", tampered.to_str().unwrap()]);
    assert_eq!(
        failed.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&failed.stderr)
    );

    // Credentials from fwrepo.toml alone (no FWREPO_* variables); a flag overrides the file.
    let client = rig.server.client(0);
    std::fs::write(
        out.path().join("fwrepo.toml"),
        format!(
            "url = \"{}\"\npartner = \"acme\"\nclient-id = \"{}\"\nclient-secret = \"{}\"\n",
            rig.server.url, client.client_id, client.client_secret
        ),
    )
    .unwrap();
    let from_file = rig
        .cmd(out.path())
        .env_remove("FWREPO_URL")
        .env_remove("FWREPO_CLIENT_ID")
        .env_remove("FWREPO_CLIENT_SECRET")
        .env_remove("FWREPO_PARTNER")
        .args(["list", "--json"])
        .output()
        .unwrap();
    assert!(
        from_file.status.success(),
        "{}",
        String::from_utf8_lossy(&from_file.stderr)
    );
    let port = fwrepo_e2e::free_port();
    let flag_wins = rig
        .cmd(out.path())
        .env_remove("FWREPO_URL")
        .args([
            "--url",
            &format!("http://127.0.0.1:{port}"),
            "--retries",
            "0",
            "list",
        ])
        .output()
        .unwrap();
    assert_eq!(flag_wins.status.code(), Some(6));

    // Tokens are cached (owner-only) and reused until expiry; the secret is not stored.
    let tokens: Vec<_> = std::fs::read_dir(rig.cache.path().join("tokens"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(tokens.len(), 1, "one token for one client");
    let content = std::fs::read_to_string(tokens[0].path()).unwrap();
    assert!(!content.contains(&client.client_secret));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            tokens[0].metadata().unwrap().permissions().mode() & 0o077,
            0
        );
    }
}

fn stamp_string(rig: &Rig, dir: &Path) -> String {
    let out = rig.run(dir, &["stamp", "--version", "2.1.0", "--format", "env"]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.lines()
        .find_map(|l| l.strip_prefix("FWREPO_STAMP="))
        .expect("FWREPO_STAMP line")
        .to_string()
}

#[tokio::test]
async fn plugin_qa_rig_script_pulls_the_newest_main_build() {
    let rig = Rig::start();
    rig.create_type(106).await;
    let (src, _) = repo();
    let out = tempfile::tempdir().unwrap();
    let s = src.path().to_str().unwrap();
    for (version, bytes) in [
        ("1.0.0", &b"old main build"[..]),
        ("1.1.0", &b"new main build"[..]),
    ] {
        let file = artifact(out.path(), &format!("{version}.bin"), bytes);
        rig.ok_json(
            out.path(),
            &publish_args(file.to_str().unwrap(), s, version, "106"),
        );
    }
    let script = fwrepo_e2e::workspace_root().join("examples/qa-rig/pull-latest.sh");
    let mut sh = Command::new("sh");
    sh.current_dir(out.path()).arg(&script).arg("106");
    let client = rig.server.client(0);
    for var in CI_VARS {
        sh.env_remove(var);
    }
    sh.env("FWREPO", bin("fwrepo"))
        .env("OUT", out.path().join("rig.bin"))
        .env("FWREPO_URL", &rig.server.url)
        .env("FWREPO_PARTNER", &client.partner_id)
        .env("FWREPO_CLIENT_ID", &client.client_id)
        .env("FWREPO_CLIENT_SECRET", &client.client_secret)
        .env("FWREPO_CACHE_DIR", rig.cache.path());
    let result = sh.output().unwrap();
    assert!(
        result.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    assert_eq!(
        std::fs::read(out.path().join("rig.bin")).unwrap(),
        b"new main build"
    );
}
