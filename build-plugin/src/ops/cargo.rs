//! cargo pieces: the package (version incl. workspace inheritance, `[package.metadata.fwrepo]`)
//! through `cargo_metadata`, and the built executable from `cargo build --message-format=json`.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cargo_metadata::{Message, MetadataCommand, TargetKind};

use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct CargoPackage {
    pub name: String,
    /// Already resolved by cargo, `version.workspace = true` included.
    pub version: semver::Version,
    pub manifest_path: PathBuf,
    pub bins: Vec<String>,
    /// `[package.metadata.fwrepo]`, `null` when absent.
    pub fwrepo_metadata: serde_json::Value,
    pub target_directory: PathBuf,
    pub workspace_root: PathBuf,
}

fn cargo_program() -> String {
    // Set by cargo when it runs a subcommand: the same toolchain builds the artifact.
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

/// The package `package` (or the one at `manifest_path`, or the only/root package).
pub fn load_package(manifest_path: Option<&Path>, package: Option<&str>) -> Result<CargoPackage> {
    let mut command = MetadataCommand::new();
    command.cargo_path(cargo_program()).no_deps();
    if let Some(path) = manifest_path {
        command.manifest_path(path);
    }
    let metadata = command
        .exec()
        .map_err(|e| Error::Cargo(format!("cargo metadata: {e}")))?;
    let members: Vec<_> = metadata.workspace_packages();
    let chosen = match package {
        Some(name) => members
            .iter()
            .find(|p| p.name.as_str() == name)
            .ok_or_else(|| Error::Cargo(format!("no package {name:?} in the workspace")))?,
        None => match nearest_manifest(manifest_path).and_then(|m| {
            members
                .iter()
                .find(|p| same_file(p.manifest_path.as_std_path(), &m))
        }) {
            Some(package) => package,
            None if members.len() == 1 => &members[0],
            None => {
                let names: Vec<&str> = members.iter().map(|p| p.name.as_str()).collect();
                return Err(Error::Cargo(format!(
                    "a virtual workspace: choose a package with -p ({})",
                    names.join(", ")
                )));
            }
        },
    };
    let bins = chosen
        .targets
        .iter()
        .filter(|t| t.kind.contains(&TargetKind::Bin))
        .map(|t| t.name.clone())
        .collect();
    Ok(CargoPackage {
        name: chosen.name.to_string(),
        version: chosen.version.clone(),
        manifest_path: chosen.manifest_path.clone().into_std_path_buf(),
        bins,
        fwrepo_metadata: chosen
            .metadata
            .get("fwrepo")
            .cloned()
            .unwrap_or(serde_json::Value::Null),
        target_directory: metadata.target_directory.clone().into_std_path_buf(),
        workspace_root: metadata.workspace_root.clone().into_std_path_buf(),
    })
}

/// The manifest cargo would use: the given one, else the nearest `Cargo.toml` upwards.
fn nearest_manifest(manifest_path: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = manifest_path {
        return Some(path.to_path_buf());
    }
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .map(|d| d.join("Cargo.toml"))
        .find(|m| m.is_file())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// What to build.
#[derive(Debug, Clone, Default)]
pub struct BuildSpec {
    pub manifest_path: Option<PathBuf>,
    pub package: String,
    pub bin: String,
    pub release: bool,
    pub profile: Option<String>,
    pub target: Option<String>,
    pub features: Vec<String>,
}

impl BuildSpec {
    fn profile_dir(&self) -> String {
        match (self.profile.as_deref(), self.release) {
            (Some("dev") | Some("test"), _) => "debug".into(),
            (Some("release") | Some("bench"), _) => "release".into(),
            (Some(custom), _) => custom.into(),
            (None, true) => "release".into(),
            (None, false) => "debug".into(),
        }
    }
}

/// Builds the binary and answers the executable cargo reports (`compiler-artifact.executable`).
pub fn build(spec: &BuildSpec, env: &[(&str, String)]) -> Result<PathBuf> {
    let mut command = Command::new(cargo_program());
    command.args([
        "build",
        "--message-format=json-render-diagnostics",
        "-p",
        &spec.package,
        "--bin",
        &spec.bin,
    ]);
    if let Some(path) = &spec.manifest_path {
        command.arg("--manifest-path").arg(path);
    }
    if let Some(profile) = &spec.profile {
        command.args(["--profile", profile]);
    } else if spec.release {
        command.arg("--release");
    }
    if let Some(target) = &spec.target {
        command.args(["--target", target]);
    }
    if !spec.features.is_empty() {
        command.args(["--features", &spec.features.join(",")]);
    }
    for (key, value) in env {
        command.env(key, value);
    }
    command.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let mut child = command
        .spawn()
        .map_err(|e| Error::Cargo(format!("running cargo build: {e}")))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let mut executable = None;
    for message in Message::parse_stream(BufReader::new(stdout)) {
        let message = message.map_err(|e| Error::Cargo(format!("reading cargo output: {e}")))?;
        if let Message::CompilerArtifact(artifact) = message {
            if artifact.target.name == spec.bin && artifact.target.kind.contains(&TargetKind::Bin) {
                if let Some(exe) = artifact.executable {
                    executable = Some(exe.into_std_path_buf());
                }
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| Error::Cargo(format!("waiting for cargo build: {e}")))?;
    if !status.success() {
        return Err(Error::Cargo(format!("cargo build failed ({status})")));
    }
    executable.ok_or_else(|| {
        Error::Cargo(format!(
            "cargo build reported no executable for bin {:?}",
            spec.bin
        ))
    })
}

/// Where an existing build of `spec` lives, from `cargo metadata`'s target directory (which
/// honours `CARGO_TARGET_DIR` and `build.target-dir`); used without `--build`.
pub fn locate(spec: &BuildSpec, target_directory: &Path) -> Result<PathBuf> {
    let mut path = target_directory.to_path_buf();
    if let Some(target) = &spec.target {
        path.push(target);
    }
    path.push(spec.profile_dir());
    path.push(format!("{}{}", spec.bin, std::env::consts::EXE_SUFFIX));
    if path.is_file() {
        Ok(path)
    } else {
        Err(Error::Cargo(format!(
            "{} is not built: pass --build (or build it first with the same profile and --target)",
            path.display()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_workspace(dir: &Path) {
        std::fs::write(
            dir.join("Cargo.toml"),
            "[workspace]\nmembers = [\"fw\", \"tool\"]\n[workspace.package]\nversion = \"2.3.4\"\n",
        )
        .unwrap();
        std::fs::create_dir_all(dir.join("fw/src")).unwrap();
        std::fs::write(
            dir.join("fw/Cargo.toml"),
            "[package]\nname = \"fw\"\nversion.workspace = true\nedition = \"2021\"\n\n[package.metadata.fwrepo]\ntype = 101\ntags = [\"board:x\"]\n",
        )
        .unwrap();
        std::fs::write(dir.join("fw/src/main.rs"), "fn main() {}\n").unwrap();
        std::fs::create_dir_all(dir.join("tool/src")).unwrap();
        std::fs::write(
            dir.join("tool/Cargo.toml"),
            "[package]\nname = \"tool\"\nversion = \"0.1.0\"\n",
        )
        .unwrap();
        std::fs::write(dir.join("tool/src/lib.rs"), "").unwrap();
    }

    #[test]
    fn workspace_inherited_version_and_metadata() {
        let dir = tempfile::tempdir().unwrap();
        write_workspace(dir.path());
        let pkg = load_package(Some(&dir.path().join("Cargo.toml")), Some("fw")).unwrap();
        assert_eq!(pkg.version, semver::Version::new(2, 3, 4));
        assert_eq!(pkg.bins, vec!["fw"]);
        assert_eq!(pkg.fwrepo_metadata["type"], 101);
        let err = load_package(Some(&dir.path().join("Cargo.toml")), None).unwrap_err();
        assert!(err.to_string().contains("-p"), "{err}");
        let by_member = load_package(Some(&dir.path().join("fw/Cargo.toml")), None).unwrap();
        assert_eq!(by_member.name, "fw");
    }

    #[test]
    fn profile_dirs() {
        let spec = |release, profile: Option<&str>| BuildSpec {
            release,
            profile: profile.map(str::to_string),
            ..BuildSpec::default()
        };
        assert_eq!(spec(false, None).profile_dir(), "debug");
        assert_eq!(spec(true, None).profile_dir(), "release");
        assert_eq!(spec(false, Some("dev")).profile_dir(), "debug");
        assert_eq!(spec(false, Some("fast")).profile_dir(), "fast");
    }
}
