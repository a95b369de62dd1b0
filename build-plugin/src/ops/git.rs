//! Git facts through libgit2 (no `git` process): commit, branch, describe, dirty, remote.
//! Knows nothing of CI; the stamp layer reconciles these facts with what CI reports.

use std::path::Path;

use git2::{DescribeFormatOptions, DescribeOptions, Oid, Repository, StatusOptions};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Whether untracked (not ignored) files make the tree dirty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Untracked {
    /// Untracked files do not count, as with `git describe --dirty` (default).
    #[default]
    Ignore,
    /// Any untracked file makes the tree dirty.
    Dirty,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GitFacts {
    /// Full 40-hex commit id.
    pub sha: String,
    /// First 7 hex digits.
    pub short: String,
    /// Branch name, `None` when HEAD is detached.
    pub branch: Option<String>,
    /// `git describe --tags --long` form: `<tag>-<distance>-g<short>`; `None` without tags.
    pub describe: Option<String>,
    /// Nearest tag reachable from the commit.
    pub last_tag: Option<String>,
    /// Commits since `last_tag`.
    pub distance: Option<u32>,
    /// Tags pointing exactly at the commit.
    pub exact_tags: Vec<String>,
    pub dirty: bool,
    /// A shallow clone: `describe` may be missing or wrong.
    pub shallow: bool,
    /// `origin`'s URL with any credentials removed.
    pub remote: Option<String>,
}

fn git_err(context: &str) -> impl Fn(git2::Error) -> Error + '_ {
    move |e| Error::Git(format!("{context}: {}", e.message()))
}

/// Opens the repository containing `dir`; `Ok(None)` when `dir` is not inside one.
pub fn open(dir: &Path) -> Result<Option<Repository>> {
    match Repository::discover(dir) {
        Ok(repo) => Ok(Some(repo)),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(e) => Err(git_err("opening repository")(e)),
    }
}

/// Reads the facts of `commit` (default HEAD) in `repo`.
pub fn facts(repo: &Repository, commit: Option<&str>, untracked: Untracked) -> Result<GitFacts> {
    let head = repo.head().map_err(|e| {
        if e.code() == git2::ErrorCode::UnbornBranch {
            Error::Git("the repository has no commits yet".into())
        } else {
            git_err("reading HEAD")(e)
        }
    })?;
    let head_commit = head.peel_to_commit().map_err(git_err("resolving HEAD"))?;
    let wanted = commit.filter(|c| c.len() == 40 && c.chars().all(|ch| ch.is_ascii_hexdigit()));
    let found = wanted
        .and_then(|sha| Oid::from_str(sha).ok())
        .and_then(|oid| repo.find_commit(oid).ok());
    // The CI may name a commit a shallow clone lacks (a pull request's head): stamp its id,
    // describe what we have.
    let sha = match (wanted, &found) {
        (Some(sha), None) => sha.to_ascii_lowercase(),
        (_, Some(c)) => c.id().to_string(),
        (None, None) => head_commit.id().to_string(),
    };
    let commit = found.unwrap_or_else(|| head_commit.clone());
    let short = sha[..7].to_string();
    let branch = if head.is_branch() {
        head.shorthand().map(str::to_string)
    } else {
        None
    };
    let shallow = repo.is_shallow();

    let (describe, last_tag, distance) = describe(&commit);
    let exact_tags = tags_at(repo, commit.id());
    let dirty = is_dirty(repo, untracked)?;
    let remote = repo
        .find_remote("origin")
        .ok()
        .and_then(|r| r.url().map(strip_credentials));
    Ok(GitFacts {
        sha,
        short,
        branch,
        describe,
        last_tag,
        distance,
        exact_tags,
        dirty,
        shallow,
        remote,
    })
}

fn describe(commit: &git2::Commit<'_>) -> (Option<String>, Option<String>, Option<u32>) {
    let object = commit.as_object();
    let Ok(description) = object.describe(DescribeOptions::new().describe_tags()) else {
        return (None, None, None);
    };
    let mut format = DescribeFormatOptions::new();
    format.always_use_long_format(true).abbreviated_size(7);
    let Ok(text) = description.format(Some(&format)) else {
        return (None, None, None);
    };
    // <tag>-<distance>-g<hex>; the tag itself may contain dashes.
    let mut parts = text.rsplitn(3, '-');
    let _hash = parts.next();
    let distance = parts.next().and_then(|d| d.parse().ok());
    let tag = parts.next().map(str::to_string);
    (Some(text), tag, distance)
}

fn tags_at(repo: &Repository, id: Oid) -> Vec<String> {
    let mut tags = Vec::new();
    if let Ok(names) = repo.tag_names(None) {
        for name in names.iter().flatten() {
            let target = repo
                .revparse_single(&format!("refs/tags/{name}"))
                .ok()
                .and_then(|o| o.peel_to_commit().ok())
                .map(|c| c.id());
            if target == Some(id) {
                tags.push(name.to_string());
            }
        }
    }
    tags.sort();
    tags
}

fn is_dirty(repo: &Repository, untracked: Untracked) -> Result<bool> {
    if repo.is_bare() {
        return Ok(false);
    }
    let mut options = StatusOptions::new();
    options
        .include_untracked(untracked == Untracked::Dirty)
        .recurse_untracked_dirs(untracked == Untracked::Dirty)
        .include_ignored(false)
        .exclude_submodules(true);
    let statuses = repo
        .statuses(Some(&mut options))
        .map_err(git_err("reading status"))?;
    Ok(statuses.iter().any(|s| {
        let st = s.status();
        !st.is_ignored()
            && (untracked == Untracked::Dirty || !st.is_wt_new())
            && st != git2::Status::CURRENT
    }))
}

/// Removes `user:password@` from a URL so a remote never leaks a token into a tag.
/// scp-like remotes (`git@host:path`) carry no secret and stay as they are.
pub fn strip_credentials(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let host = authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host);
        format!("{scheme}://{host}{path}")
    } else {
        url.to_string()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::path::Path;

    pub fn commit_all(repo: &Repository, message: &str) -> Oid {
        let mut index = repo.index().unwrap();
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("Test", "test@example.com").unwrap();
        let parents: Vec<git2::Commit> = repo
            .head()
            .ok()
            .and_then(|h| h.peel_to_commit().ok())
            .into_iter()
            .collect();
        let parents: Vec<&git2::Commit> = parents.iter().collect();
        repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
            .unwrap()
    }

    pub fn init_repo(dir: &Path) -> Repository {
        let repo =
            Repository::init_opts(dir, git2::RepositoryInitOptions::new().initial_head("main"))
                .unwrap();
        std::fs::write(dir.join("a.txt"), "one").unwrap();
        std::fs::write(dir.join(".gitignore"), "target/\n").unwrap();
        commit_all(&repo, "first");
        repo
    }

    #[test]
    fn clean_repo_on_branch_without_tags() {
        let dir = tempfile::tempdir().unwrap();
        let repo = init_repo(dir.path());
        let facts = facts(&repo, None, Untracked::Ignore).unwrap();
        assert_eq!(facts.sha.len(), 40);
        assert_eq!(facts.short, &facts.sha[..7]);
        assert_eq!(facts.branch.as_deref(), Some("main"));
        assert!(!facts.dirty);
        assert_eq!(facts.describe, None);
        assert!(facts.exact_tags.is_empty());
    }

    #[test]
    fn describe_distance_and_exact_tags() {
        let dir = tempfile::tempdir().unwrap();
        let repo = init_repo(dir.path());
        let head = repo.head().unwrap().peel_to_commit().unwrap();
        repo.tag_lightweight("v1.0.0", head.as_object(), false)
            .unwrap();
        let f = facts(&repo, None, Untracked::Ignore).unwrap();
        assert_eq!(f.exact_tags, vec!["v1.0.0"]);
        assert_eq!(f.distance, Some(0));
        std::fs::write(dir.path().join("a.txt"), "two").unwrap();
        commit_all(&repo, "second");
        std::fs::write(dir.path().join("a.txt"), "three").unwrap();
        commit_all(&repo, "third");
        let f = facts(&repo, None, Untracked::Ignore).unwrap();
        assert_eq!(f.last_tag.as_deref(), Some("v1.0.0"));
        assert_eq!(f.distance, Some(2));
        assert_eq!(
            f.describe.as_deref(),
            Some(format!("v1.0.0-2-g{}", f.short).as_str())
        );
        assert!(f.exact_tags.is_empty());
    }

    #[test]
    fn dirty_and_untracked_modes() {
        let dir = tempfile::tempdir().unwrap();
        let repo = init_repo(dir.path());
        std::fs::create_dir(dir.path().join("target")).unwrap();
        std::fs::write(dir.path().join("target/ignored.o"), "x").unwrap();
        assert!(
            !facts(&repo, None, Untracked::Dirty).unwrap().dirty,
            "ignored files never count"
        );
        std::fs::write(dir.path().join("new.txt"), "x").unwrap();
        assert!(!facts(&repo, None, Untracked::Ignore).unwrap().dirty);
        assert!(facts(&repo, None, Untracked::Dirty).unwrap().dirty);
        std::fs::remove_file(dir.path().join("new.txt")).unwrap();
        std::fs::write(dir.path().join("a.txt"), "changed").unwrap();
        assert!(facts(&repo, None, Untracked::Ignore).unwrap().dirty);
    }

    #[test]
    fn detached_head_has_no_branch() {
        let dir = tempfile::tempdir().unwrap();
        let repo = init_repo(dir.path());
        let id = repo.head().unwrap().target().unwrap();
        repo.set_head_detached(id).unwrap();
        assert_eq!(facts(&repo, None, Untracked::Ignore).unwrap().branch, None);
    }

    #[test]
    fn remote_credentials_are_stripped() {
        let dir = tempfile::tempdir().unwrap();
        let repo = init_repo(dir.path());
        repo.remote(
            "origin",
            "https://ci-token:s3cret@git.example.com/acme/fw.git",
        )
        .unwrap();
        let f = facts(&repo, None, Untracked::Ignore).unwrap();
        assert_eq!(
            f.remote.as_deref(),
            Some("https://git.example.com/acme/fw.git")
        );
        assert_eq!(
            strip_credentials("git@github.com:acme/fw.git"),
            "git@github.com:acme/fw.git"
        );
        assert_eq!(strip_credentials("ssh://git@host:22/x"), "ssh://host:22/x");
        assert_eq!(strip_credentials("https://host"), "https://host");
    }

    #[test]
    fn not_a_repository() {
        let dir = tempfile::tempdir().unwrap();
        // tempdirs live under /tmp, which is not inside a repository on a sane machine
        if let Ok(None) = open(dir.path()) {
        } else {
            eprintln!("skipping: temp dir is inside a git repository");
        }
    }
}
