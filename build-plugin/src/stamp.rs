//! The stamp: every fact about one build (semver, git, CI) and the two things derived from
//! it, the pool record's version string and its tags. Pure; the facts come from `ops/`.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::ops::ci::CiFacts;
use crate::ops::git::GitFacts;

/// Version of the embedded stamp string format (`fwrepo-stamp:<n>;...`).
pub const STAMP_FORMAT: u32 = 1;
/// What an embedded stamp string starts with; `fwrepo verify` searches binaries for it.
pub const STAMP_MARKER: &str = "fwrepo-stamp:";

#[derive(Debug, Clone, Serialize)]
pub struct Stamp {
    /// The semver as read from its source (Cargo.toml, CMake, `--version`).
    pub semver: String,
    /// Where the semver came from, for error messages and `stamp --format json`.
    pub version_source: String,
    /// The pool record's version: `semver`, plus `+g<short>[.dirty]` unless a clean release build.
    pub version: String,
    /// True when HEAD carries a release tag for `semver` and the tree is clean.
    pub release: bool,
    pub git: Option<GitFacts>,
    pub ci: Option<CiFacts>,
}

/// Parses a version read from `source` with a message that names the source.
pub fn parse_semver(version: &str, source: &str) -> Result<semver::Version> {
    let trimmed = version.trim();
    let trimmed = trimmed.strip_prefix('v').unwrap_or(trimmed);
    semver::Version::parse(trimmed).map_err(|e| Error::Version {
        version: version.to_string(),
        source_name: source.to_string(),
        reason: e.to_string(),
    })
}

/// A release tag for `version`: `1.2.3`, `v1.2.3`, or a prefixed `<name>-v1.2.3` / `<name>/v1.2.3`
/// / `<name>@1.2.3` as monorepos spell them.
pub fn is_release_tag(tag: &str, version: &semver::Version) -> bool {
    let v = version.to_string();
    tag == v
        || tag == format!("v{v}")
        || tag.ends_with(&format!("-v{v}"))
        || tag.ends_with(&format!("/v{v}"))
        || tag.ends_with(&format!("@{v}"))
        || tag.ends_with(&format!("@v{v}"))
}

/// Appends build-metadata identifiers to a version (`+a` or `.a` when it has some already).
pub fn with_build_metadata(version: &str, ident: &str) -> String {
    if version.contains('+') {
        format!("{version}.{ident}")
    } else {
        format!("{version}+{ident}")
    }
}

impl Stamp {
    /// Applies the version rule (README "Version rule").
    pub fn new(
        semver: semver::Version,
        version_source: &str,
        git: Option<GitFacts>,
        ci: Option<CiFacts>,
    ) -> Self {
        let base = semver.to_string();
        let (version, release) = match &git {
            None => (base.clone(), false),
            Some(g) => {
                let tagged = g.exact_tags.iter().any(|t| is_release_tag(t, &semver));
                if tagged && !g.dirty {
                    (base.clone(), true)
                } else {
                    let mut v = with_build_metadata(&base, &format!("g{}", g.short));
                    if g.dirty {
                        v.push_str(".dirty");
                    }
                    (v, false)
                }
            }
        };
        Stamp {
            semver: base,
            version_source: version_source.to_string(),
            version,
            release,
            git,
            ci,
        }
    }

    /// The tags of the documented scheme (README "Tag scheme"), in a stable order.
    pub fn tags(&self) -> Vec<String> {
        let mut tags = vec![format!("semver:{}", self.semver)];
        if let Ok(v) = semver::Version::parse(&self.semver) {
            tags.push(format!("semver-minor:{}.{}", v.major, v.minor));
            if !v.pre.is_empty() {
                tags.push("prerelease".into());
            }
        }
        if self.release {
            tags.push("release".into());
        }
        if let Some(g) = &self.git {
            tags.push(format!("git:{}", g.sha));
            tags.push(format!("git-short:{}", g.short));
            let branch = self
                .ci
                .as_ref()
                .and_then(|c| c.branch.clone())
                .or_else(|| g.branch.clone());
            match branch {
                Some(b) => tags.push(format!("branch:{b}")),
                None => tags.push("detached".into()),
            }
            if let Some(d) = &g.describe {
                tags.push(format!("describe:{d}"));
            }
            if let Some(n) = g.distance {
                tags.push(format!("distance:{n}"));
            }
            for t in &g.exact_tags {
                tags.push(format!("git-tag:{t}"));
            }
            if g.dirty {
                tags.push("dirty".into());
            }
            if let Some(r) = &g.remote {
                tags.push(format!("repo:{r}"));
            }
        }
        if let Some(ci) = &self.ci {
            tags.push(format!("ci:{}", ci.provider));
            let fields = [
                ("build", &ci.build_number),
                ("build-url", &ci.build_url),
                ("pipeline", &ci.pipeline_id),
                ("job", &ci.job_id),
                ("pr", &ci.pull_request),
            ];
            for (key, value) in fields {
                if let Some(value) = value {
                    tags.push(format!("{key}:{value}"));
                }
            }
        }
        tags.into_iter().filter_map(|t| sanitize_tag(&t)).collect()
    }

    /// The string a firmware embeds: `fwrepo-stamp:1;version=..;semver=..;git=..;dirty=0`.
    pub fn embed_string(&self) -> String {
        let mut s = format!(
            "{STAMP_MARKER}{STAMP_FORMAT};version={};semver={}",
            self.version, self.semver
        );
        if let Some(g) = &self.git {
            s.push_str(&format!(";git={};dirty={}", g.sha, u8::from(g.dirty)));
        }
        s
    }

    fn env_pairs(&self) -> Vec<(&'static str, String)> {
        let git = self.git.as_ref();
        vec![
            ("FWREPO_VERSION", self.version.clone()),
            ("FWREPO_SEMVER", self.semver.clone()),
            (
                "FWREPO_GIT_SHA",
                git.map(|g| g.sha.clone()).unwrap_or_default(),
            ),
            (
                "FWREPO_GIT_SHORT",
                git.map(|g| g.short.clone()).unwrap_or_default(),
            ),
            (
                "FWREPO_GIT_DIRTY",
                git.map(|g| u8::from(g.dirty).to_string())
                    .unwrap_or_else(|| "0".into()),
            ),
            (
                "FWREPO_GIT_BRANCH",
                git.and_then(|g| g.branch.clone()).unwrap_or_default(),
            ),
            (
                "FWREPO_GIT_DESCRIBE",
                git.and_then(|g| g.describe.clone()).unwrap_or_default(),
            ),
            ("FWREPO_STAMP", self.embed_string()),
        ]
    }

    /// Environment for a child build (`cargo fwrepo publish --build`).
    pub fn build_env(&self) -> Vec<(&'static str, String)> {
        self.env_pairs()
    }

    pub fn render(&self, format: StampFormat) -> String {
        match format {
            StampFormat::Json => {
                serde_json::to_string_pretty(self).expect("stamp serializes") + "\n"
            }
            StampFormat::RustcEnv => {
                let mut out = String::new();
                for (k, v) in self.env_pairs() {
                    out.push_str(&format!("cargo:rustc-env={k}={v}\n"));
                }
                out
            }
            StampFormat::Cmake => {
                let mut out = String::new();
                for (k, v) in self.env_pairs() {
                    out.push_str(&format!("set({k} \"{}\")\n", cmake_escape(&v)));
                }
                out
            }
            StampFormat::CHeader => {
                let mut out = String::from("/* Generated by `fwrepo stamp --format c-header`; do not edit. */\n#pragma once\n");
                for (k, v) in self.env_pairs() {
                    out.push_str(&format!("#define {k} \"{}\"\n", c_escape(&v)));
                }
                out
            }
            StampFormat::Env => {
                let mut out = String::new();
                for (k, v) in self.env_pairs() {
                    out.push_str(&format!("{k}={v}\n"));
                }
                out
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StampFormat {
    /// `cargo:rustc-env=KEY=VALUE` lines for a build script.
    RustcEnv,
    /// `set(KEY "VALUE")` lines to `include()` from CMake.
    Cmake,
    /// A C header of `#define`s.
    CHeader,
    /// `KEY=VALUE` lines (shell, GitHub `$GITHUB_ENV`).
    Env,
    /// Every fact as JSON.
    Json,
}

/// Tags may not hold commas or control characters and are at most 200 bytes (server rules);
/// a fact that cannot be a tag is dropped rather than failing the publish.
pub fn sanitize_tag(tag: &str) -> Option<String> {
    let tag = tag.trim();
    if tag.is_empty() || tag.len() > 200 || tag.contains(',') || tag.chars().any(char::is_control) {
        None
    } else {
        Some(tag.to_string())
    }
}

fn cmake_escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('$', "\\$")
}

fn c_escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Facts parsed back out of an embedded stamp string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmbeddedStamp {
    pub version: Option<String>,
    pub semver: Option<String>,
    pub git: Option<String>,
    pub dirty: Option<bool>,
}

/// Finds the first embedded stamp in a binary's bytes.
pub fn find_embedded(bytes: &[u8]) -> Option<EmbeddedStamp> {
    let marker = STAMP_MARKER.as_bytes();
    let start = bytes.windows(marker.len()).position(|w| w == marker)?;
    let rest = &bytes[start + marker.len()..];
    let end = rest
        .iter()
        .position(|b| !(0x21..0x7f).contains(b))
        .unwrap_or(rest.len());
    let text = std::str::from_utf8(&rest[..end]).ok()?;
    let mut stamp = EmbeddedStamp {
        version: None,
        semver: None,
        git: None,
        dirty: None,
    };
    for field in text.split(';').skip(1) {
        match field.split_once('=') {
            Some(("version", v)) => stamp.version = Some(v.to_string()),
            Some(("semver", v)) => stamp.semver = Some(v.to_string()),
            Some(("git", v)) => stamp.git = Some(v.to_string()),
            Some(("dirty", v)) => stamp.dirty = Some(v == "1"),
            _ => {}
        }
    }
    Some(stamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dirty: bool, exact_tags: &[&str]) -> GitFacts {
        GitFacts {
            sha: "0123456789abcdef0123456789abcdef01234567".into(),
            short: "0123456".into(),
            branch: Some("main".into()),
            describe: Some("v1.4.1-3-g0123456".into()),
            last_tag: Some("v1.4.1".into()),
            distance: Some(3),
            exact_tags: exact_tags.iter().map(|s| s.to_string()).collect(),
            dirty,
            shallow: false,
            remote: Some("https://git.example.com/acme/fw.git".into()),
        }
    }

    fn v(s: &str) -> semver::Version {
        semver::Version::parse(s).unwrap()
    }

    #[test]
    fn version_rule() {
        assert_eq!(
            Stamp::new(v("1.4.2"), "test", Some(git(false, &["v1.4.2"])), None).version,
            "1.4.2"
        );
        assert_eq!(
            Stamp::new(v("1.4.2"), "test", Some(git(false, &[])), None).version,
            "1.4.2+g0123456"
        );
        assert_eq!(
            Stamp::new(v("1.4.2"), "test", Some(git(true, &["v1.4.2"])), None).version,
            "1.4.2+g0123456.dirty"
        );
        assert_eq!(
            Stamp::new(v("1.4.2+meta"), "t", Some(git(false, &[])), None).version,
            "1.4.2+meta.g0123456"
        );
        assert_eq!(Stamp::new(v("1.4.2"), "test", None, None).version, "1.4.2");
        // a tag of another version does not make this a release
        assert_eq!(
            Stamp::new(v("1.4.2"), "test", Some(git(false, &["v1.4.1"])), None).version,
            "1.4.2+g0123456"
        );
    }

    #[test]
    fn release_tag_spellings() {
        let version = v("2.0.0");
        for tag in ["2.0.0", "v2.0.0", "fw-v2.0.0", "fw/v2.0.0", "fw@2.0.0"] {
            assert!(is_release_tag(tag, &version), "{tag}");
        }
        for tag in ["v2.0.01", "2.0", "x2.0.0"] {
            assert!(!is_release_tag(tag, &version), "{tag}");
        }
    }

    #[test]
    fn invalid_semver_names_its_source() {
        let err = parse_semver("1.2", "Cargo.toml of blinky")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Cargo.toml of blinky") && err.contains("\"1.2\""),
            "{err}"
        );
        assert_eq!(parse_semver("v1.2.3", "x").unwrap(), v("1.2.3"));
    }

    #[test]
    fn tag_scheme_is_stable() {
        let ci = CiFacts {
            provider: "github".into(),
            build_number: Some("42".into()),
            build_url: Some("https://github.com/acme/fw/actions/runs/9".into()),
            pipeline_id: Some("9".into()),
            job_id: None,
            commit: None,
            branch: Some("topic".into()),
            pull_request: Some("7".into()),
        };
        let stamp = Stamp::new(v("1.4.2-rc.1"), "test", Some(git(true, &[])), Some(ci));
        assert_eq!(
            stamp.tags(),
            vec![
                "semver:1.4.2-rc.1",
                "semver-minor:1.4",
                "prerelease",
                "git:0123456789abcdef0123456789abcdef01234567",
                "git-short:0123456",
                "branch:topic",
                "describe:v1.4.1-3-g0123456",
                "distance:3",
                "dirty",
                "repo:https://git.example.com/acme/fw.git",
                "ci:github",
                "build:42",
                "build-url:https://github.com/acme/fw/actions/runs/9",
                "pipeline:9",
                "pr:7",
            ]
        );
    }

    #[test]
    fn detached_and_release_tags() {
        let mut g = git(false, &["v1.0.0"]);
        g.branch = None;
        let tags = Stamp::new(v("1.0.0"), "t", Some(g), None).tags();
        assert!(tags.contains(&"release".to_string()));
        assert!(tags.contains(&"detached".to_string()));
        assert!(tags.contains(&"git-tag:v1.0.0".to_string()));
    }

    #[test]
    fn embedded_stamp_round_trips() {
        let stamp = Stamp::new(v("1.4.2"), "t", Some(git(true, &[])), None);
        let mut bin = vec![0u8, 1, 2, 0xff];
        bin.extend_from_slice(stamp.embed_string().as_bytes());
        bin.extend_from_slice(&[0, 9, 9]);
        let found = find_embedded(&bin).unwrap();
        assert_eq!(found.version.as_deref(), Some("1.4.2+g0123456.dirty"));
        assert_eq!(
            found.git.as_deref(),
            Some("0123456789abcdef0123456789abcdef01234567")
        );
        assert_eq!(found.dirty, Some(true));
        assert_eq!(find_embedded(b"nothing here"), None);
    }

    #[test]
    fn renders() {
        let stamp = Stamp::new(v("1.4.2"), "t", Some(git(false, &[])), None);
        assert!(stamp
            .render(StampFormat::RustcEnv)
            .contains("cargo:rustc-env=FWREPO_VERSION=1.4.2+g0123456\n"));
        assert!(stamp
            .render(StampFormat::Cmake)
            .contains("set(FWREPO_GIT_SHORT \"0123456\")\n"));
        assert!(stamp
            .render(StampFormat::CHeader)
            .contains("#define FWREPO_VERSION \"1.4.2+g0123456\"\n"));
        let json: serde_json::Value =
            serde_json::from_str(&stamp.render(StampFormat::Json)).unwrap();
        assert_eq!(json["git"]["short"], "0123456");
        assert_eq!(sanitize_tag("a,b"), None);
    }
}
