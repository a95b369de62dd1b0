//! `fwrepo publish` / `cargo fwrepo publish`: find the artifact, stamp it, upload it, move it
//! into the repository and create the pool record — idempotently (README "Publishing").

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use fwrepo_schemas::{FirmwareTypeCreate, PoolRecord, PoolRecordCreate, ProvenanceCreate};
use serde::Serialize;

use super::{gather_stamp, print_record, Context};
use crate::config::Layer;
use crate::error::{Error, Result};
use crate::ops::cargo::{self, BuildSpec};
use crate::ops::digest::sha256_file;
use crate::ops::git::Untracked;
use crate::ops::http::{Api, Created, PoolQuery};
use crate::ops::objcopy::{self, Format};
use crate::ops::progress::Progress;
use crate::ops::provenance::{self, BuildFacts};
use crate::ops::sign::Signer;
use crate::stamp::{parse_semver, sanitize_tag, with_build_metadata, Stamp};

/// Most tags the server keeps on one record.
const MAX_TAGS: usize = 64;
/// Highest `+r<N>` tried by `--allow-republish`.
const MAX_REPUBLISH: u32 = 1000;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct PublishArgs {
    /// The artifact to publish. Without it, the cargo package's binary is located (and built
    /// with --build).
    pub file: Option<PathBuf>,
    /// Firmware type number.
    #[arg(long = "type", value_name = "N")]
    pub fw_type: Option<i64>,
    /// Record name (default: the cargo binary / the file name without extension).
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long)]
    pub description: Option<String>,
    /// The semver to publish (default: the cargo package version).
    #[arg(long = "version", value_name = "SEMVER")]
    pub version: Option<String>,
    /// Names where --version came from, for error messages (e.g. "CMake PROJECT_VERSION").
    #[arg(long, value_name = "TEXT", hide = true)]
    pub version_source: Option<String>,
    /// Extra tag (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Associate the record with a device type id (repeatable).
    #[arg(long = "device-type", value_name = "ID")]
    pub device_types: Vec<String>,
    /// Convert the artifact first: bin (objcopy -O binary), hex, or elf (as is).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Different bytes under an existing name+version become a new record `<version>+r<N>`.
    #[arg(long)]
    pub allow_republish: bool,
    /// Print a warning and exit 0 when publishing fails.
    #[arg(long)]
    pub allow_failure: bool,
    /// Exit 0 with a one-line notice when no server URL is configured (for build hooks).
    #[arg(long)]
    pub skip_if_unconfigured: bool,
    /// Create the firmware type when missing (needs the admin scope).
    #[arg(long)]
    pub create_type: bool,
    /// Whether untracked files make the tree dirty.
    #[arg(long, value_enum)]
    pub untracked: Option<Untracked>,
    /// Directory whose git repository is stamped (default: the package / working directory).
    #[arg(long, value_name = "DIR")]
    pub source_dir: Option<PathBuf>,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
    /// Sign the binary and its build provenance with this minisign secret key (a file, or
    /// the key's text) and attach both to the binary [env: FWREPO_SIGN_KEY]. An encrypted
    /// key's password comes from FWREPO_SIGN_KEY_PASSWORD.
    #[arg(long, value_name = "FILE")]
    pub sign_key: Option<String>,
    /// Also write the provenance statement (in-toto, SLSA provenance v1) to FILE.
    #[arg(long, value_name = "FILE")]
    pub provenance_out: Option<PathBuf>,
    /// Sign the binary but attach no provenance statement.
    #[arg(long)]
    pub no_provenance: bool,

    // cargo mode
    /// Package to publish.
    #[arg(short = 'p', long = "package", help_heading = "Cargo")]
    pub package: Option<String>,
    /// Binary target (default: the package's only binary).
    #[arg(long, help_heading = "Cargo")]
    pub bin: Option<String>,
    #[arg(long, help_heading = "Cargo")]
    pub release: bool,
    #[arg(long, help_heading = "Cargo")]
    pub profile: Option<String>,
    #[arg(long, help_heading = "Cargo")]
    pub target: Option<String>,
    #[arg(long, help_heading = "Cargo", value_delimiter = ',')]
    pub features: Vec<String>,
    #[arg(long, help_heading = "Cargo")]
    pub manifest_path: Option<PathBuf>,
    /// Run `cargo build` first (with the stamp in FWREPO_* environment variables).
    #[arg(long, help_heading = "Cargo")]
    pub build: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// A new record.
    Published,
    /// The same bytes were already published under this name and version: nothing changed.
    Existing,
    /// Different bytes under an existing version: published as `<version>+r<N>`.
    Republished,
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub status: Status,
    pub record: PoolRecord,
}

/// Everything the publish step needs, however the artifact was found.
#[derive(Debug, Clone)]
pub struct Request {
    pub file: PathBuf,
    pub fw_type: i64,
    pub name: String,
    pub description: Option<String>,
    pub stamp: Stamp,
    pub extra_tags: Vec<String>,
    pub device_types: Vec<String>,
    pub allow_republish: bool,
    pub create_type: bool,
    /// Sign and attach provenance after the upload, before the record is created (so a
    /// protected tag's policy sees the signature).
    pub signing: Option<Arc<Signing>>,
}

/// How a publish signs: the key, and what to do with the provenance statement.
pub struct Signing {
    pub signer: Signer,
    pub provenance: bool,
    pub provenance_out: Option<PathBuf>,
}

/// Never prints the key itself.
impl std::fmt::Debug for Signing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signing")
            .field("key_id", &self.signer.key_id())
            .field("provenance", &self.provenance)
            .finish()
    }
}

impl Request {
    pub fn tags(&self) -> Result<Vec<String>> {
        let mut tags = self.stamp.tags();
        for tag in &self.extra_tags {
            let clean = sanitize_tag(tag).ok_or_else(|| {
                Error::Config(format!(
                    "tag {tag:?}: 1-200 bytes, no commas or control characters"
                ))
            })?;
            if !tags.contains(&clean) {
                tags.push(clean);
            }
        }
        if tags.len() > MAX_TAGS {
            return Err(Error::Config(format!(
                "{} tags, the server keeps at most {MAX_TAGS}",
                tags.len()
            )));
        }
        Ok(tags)
    }
}

async fn find(api: &Api, fw_type: i64, name: &str, version: &str) -> Result<Option<PoolRecord>> {
    let query = PoolQuery {
        fw_type: Some(fw_type),
        name: Some(name.to_string()),
        version: Some(version.to_string()),
        ..PoolQuery::default()
    };
    let page = api.pool_page(&query, 0, 10).await?;
    Ok(page
        .content
        .into_iter()
        .find(|r| r.name == name && r.version == version))
}

/// Which version to publish under: the stamp's, or with --allow-republish the first free
/// `+r<N>`; `Err(record)` when these exact bytes are already there.
async fn choose_version(
    api: &Api,
    req: &Request,
    sha256: &str,
) -> Result<std::result::Result<(String, Status), PoolRecord>> {
    let version = req.stamp.version.clone();
    let existing = match find(api, req.fw_type, &req.name, &version).await {
        Ok(existing) => existing,
        // A write-only client cannot look; the create answers 409 if the version is taken.
        Err(Error::Auth { status: 403, .. }) => None,
        Err(e) => return Err(e),
    };
    let Some(existing) = existing else {
        return Ok(Ok((version, Status::Published)));
    };
    if existing.sha256 == sha256 {
        return Ok(Err(existing));
    }
    if !req.allow_republish {
        return Err(Error::Conflict(format!(
            "{} {} (type {}) is already published with other bytes (sha256 {}, this file {sha256}); \
             artifacts are immutable: bump the version, or pass --allow-republish to publish it as {}",
            req.name,
            version,
            req.fw_type,
            existing.sha256,
            with_build_metadata(&version, "r2")
        )));
    }
    for n in 2..=MAX_REPUBLISH {
        let candidate = with_build_metadata(&version, &format!("r{n}"));
        match find(api, req.fw_type, &req.name, &candidate).await? {
            None => return Ok(Ok((candidate, Status::Republished))),
            Some(r) if r.sha256 == sha256 => return Ok(Err(r)),
            Some(_) => continue,
        }
    }
    Err(Error::Conflict(format!(
        "{} {version}: {MAX_REPUBLISH} republishes already",
        req.name
    )))
}

/// Publishes `req`: upload (streamed, digest declared; skipped when the server holds the
/// bytes), move to the repository, create the record.
pub async fn publish(ctx: &Context, api: &Api, req: &Request) -> Result<Outcome> {
    let started = SystemTime::now();
    let (sha256, len) = sha256_file(&req.file)?;
    let tags = req.tags()?;
    // Before any upload: an unregistered type would only fail at the last step.
    match api.get_type(req.fw_type).await {
        Ok(Some(_)) => {}
        Ok(None) if req.create_type => {
            ctx.note(&format!("creating firmware type {}", req.fw_type));
            let body = FirmwareTypeCreate { name: req.name.clone(), description: None, fw_type: req.fw_type };
            api.create_type(&body).await?;
        }
        Ok(None) => {
            return Err(Error::NotFound(format!(
                "firmware type {} is not registered for partner {}: create it (POST types) or pass --create-type",
                req.fw_type,
                api.connection().partner
            )))
        }
        // A client without ota:read cannot look; the create step answers for the type.
        Err(Error::Auth { status: 403, .. }) if !req.create_type => {}
        Err(e) => return Err(e),
    }
    let (version, status) = match choose_version(api, req, &sha256).await? {
        Ok(choice) => choice,
        Err(record) => {
            if let Some(signing) = &req.signing {
                let attach = Attach {
                    sha256: &sha256,
                    version: &record.version,
                    tags: &record.tags,
                    started,
                };
                attach_trust(ctx, api, req, signing, &attach).await?;
            }
            return Ok(Outcome {
                status: Status::Existing,
                record,
            });
        }
    };
    let url = store_binary(ctx, api, req, &sha256, len).await?;
    if let Some(signing) = &req.signing {
        let attach = Attach {
            sha256: &sha256,
            version: &version,
            tags: &tags,
            started,
        };
        attach_trust(ctx, api, req, signing, &attach).await?;
    }
    let associations = if req.device_types.is_empty() {
        None
    } else {
        Some(BTreeMap::from([(
            api.connection().partner.clone(),
            req.device_types.clone(),
        )]))
    };
    let body = PoolRecordCreate {
        name: req.name.clone(),
        description: req.description.clone(),
        fw_type: req.fw_type,
        version: version.clone(),
        url,
        tags,
        associations,
    };
    match api.create_pool(&body).await? {
        Created::New(record) => Ok(Outcome { status, record }),
        Created::AlreadyExists(problem) => {
            // Another run of the same build won the race, or we could not look first.
            match find(api, req.fw_type, &req.name, &version).await {
                Ok(Some(record)) if record.sha256 == sha256 => Ok(Outcome {
                    status: Status::Existing,
                    record,
                }),
                Ok(Some(record)) => Err(Error::Conflict(format!(
                    "{} {version} was published concurrently with other bytes (sha256 {})",
                    req.name, record.sha256
                ))),
                _ => Err(Error::Conflict(format!(
                    "{} {version}: {}",
                    req.name, problem.detail
                ))),
            }
        }
    }
}

/// Gets the file's bytes into the partner's repository; answers the repository URL.
/// Checksum-first: bytes the server already holds for the partner (a rebuild of the same
/// binary, a retried publish) are moved without being sent again.
async fn store_binary(
    ctx: &Context,
    api: &Api,
    req: &Request,
    sha256: &str,
    len: u64,
) -> Result<String> {
    if let Some(known) = api.binary_status(sha256).await? {
        if known.length == len {
            match api.move_to_repository(sha256).await {
                Ok(url) => {
                    ctx.note("the server holds these bytes already: nothing uploaded");
                    return Ok(url);
                }
                // The upload it knew expired in between: send the bytes after all.
                Err(Error::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    let label = format!(
        "uploading {}",
        req.file
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    );
    let progress = Progress::start(ctx.progress_mode(), &label, len);
    api.upload(&req.file, sha256, len, &progress).await?;
    progress.finish();
    api.move_to_repository(sha256).await
}

/// The published binary a signature and provenance are attached to.
struct Attach<'a> {
    sha256: &'a str,
    version: &'a str,
    tags: &'a [String],
    started: SystemTime,
}

/// Signs the binary (streaming) and its provenance statement and attaches both to it.
async fn attach_trust(
    ctx: &Context,
    api: &Api,
    req: &Request,
    signing: &Signing,
    attach: &Attach<'_>,
) -> Result<()> {
    let artifact: String = req
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let sha256 = attach.sha256;
    let comment = format!(
        "file:{artifact}\tsha256:{sha256}\tname:{}\tversion:{}",
        req.name, attach.version
    );
    let signature = signing.signer.sign_file(&req.file, &comment)?;
    api.add_signature(sha256, &signature).await?;
    ctx.note(&format!(
        "signed {artifact} with key {}",
        signing.signer.key_id()
    ));
    if !signing.provenance {
        return Ok(());
    }
    let statement = provenance::statement(&BuildFacts {
        artifact: &artifact,
        sha256,
        name: &req.name,
        fw_type: req.fw_type,
        version: attach.version,
        tags: attach.tags,
        stamp: &req.stamp,
        started: attach.started,
        finished: SystemTime::now(),
    });
    if let Some(path) = &signing.provenance_out {
        std::fs::write(path, &statement).map_err(|e| Error::io(path, e))?;
    }
    let comment = format!("provenance of file:{artifact}\tsha256:{sha256}");
    let signature = signing.signer.sign_bytes(statement.as_bytes(), &comment)?;
    api.add_provenance(
        sha256,
        &ProvenanceCreate {
            statement,
            signature,
        },
    )
    .await?;
    ctx.note("attached signed build provenance (in-toto, SLSA provenance v1)");
    Ok(())
}

/// The signing setup of `--sign-key` (or FWREPO_SIGN_KEY); `None` when no key is given.
fn signing(ctx: &Context, args: &PublishArgs) -> Result<Option<Arc<Signing>>> {
    let Some(source) = args
        .sign_key
        .clone()
        .or_else(|| ctx.env.get("FWREPO_SIGN_KEY"))
    else {
        if args.provenance_out.is_some() {
            return Err(Error::Config(
                "--provenance-out needs a signing key (--sign-key or FWREPO_SIGN_KEY)".into(),
            ));
        }
        return Ok(None);
    };
    let signer = Signer::load(&source, ctx.env.get("FWREPO_SIGN_KEY_PASSWORD"))?;
    Ok(Some(Arc::new(Signing {
        signer,
        provenance: !args.no_provenance,
        provenance_out: args.provenance_out.clone(),
    })))
}

fn report(outcome: &Outcome, json: bool) {
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(outcome).expect("outcome serializes")
        );
        return;
    }
    let heading = match outcome.status {
        Status::Published => "published",
        Status::Existing => "already published (same bytes), nothing to do",
        Status::Republished => "republished",
    };
    print_record(heading, &outcome.record);
}

/// The `publish` command: resolves config, finds (and builds) the artifact, publishes.
pub async fn run(ctx: &Context, args: &PublishArgs) -> Result<()> {
    match run_inner(ctx, args).await {
        Err(e) if args.allow_failure => {
            eprintln!("fwrepo: warning: publish failed, continuing (--allow-failure): {e}");
            Ok(())
        }
        other => other,
    }
}

async fn run_inner(ctx: &Context, args: &PublishArgs) -> Result<()> {
    // Cargo mode needs the package for metadata and version; file mode only if it has a manifest.
    let cargo_mode = args.file.is_none();
    let package = if cargo_mode || (args.version.is_none() && args.manifest_path.is_some()) {
        Some(cargo::load_package(
            args.manifest_path.as_deref(),
            args.package.as_deref(),
        )?)
    } else {
        None
    };
    let metadata = match &package {
        Some(p) => Layer::from_metadata(&p.fwrepo_metadata, &p.name)?,
        None => Layer::default(),
    };
    let source_dir = args.source_dir.clone().unwrap_or_else(|| match &package {
        Some(p) => p
            .manifest_path
            .parent()
            .map(PathBuf::from)
            .unwrap_or_else(|| ctx.cwd.clone()),
        None => ctx.cwd.clone(),
    });
    let flags = Layer {
        fw_type: args.fw_type,
        name: args.name.clone(),
        description: args.description.clone(),
        tags: args.tags.clone(),
        device_types: args.device_types.clone(),
        untracked: args.untracked,
        create_type: args.create_type.then_some(true),
        ..Layer::default()
    };
    let layer = flags.over(ctx.layers(metadata, &source_dir)?);
    if layer.url.is_none() && args.skip_if_unconfigured {
        let what = args
            .file
            .as_ref()
            .map(|f| f.display().to_string())
            .unwrap_or_else(|| "the artifact".into());
        eprintln!("fwrepo: FWREPO_URL is not set: skipping publish of {what}");
        return Ok(());
    }
    let api = ctx.api(&layer)?;
    let fw_type = layer.fw_type.ok_or_else(|| {
        Error::Config("no firmware type: pass --type or set `type` in [package.metadata.fwrepo] / fwrepo.toml".into())
    })?;

    let (semver, version_source) = match (&args.version, &package) {
        (Some(v), _) => {
            let source = args
                .version_source
                .clone()
                .unwrap_or_else(|| "--version".into());
            (parse_semver(v, &source)?, source)
        }
        (None, Some(p)) => (p.version.clone(), format!("Cargo.toml of {}", p.name)),
        (None, None) => return Err(Error::Config("no version: pass --version".into())),
    };
    let untracked = layer.untracked.unwrap_or_default();
    let stamp = gather_stamp(ctx, &source_dir, semver, &version_source, untracked)?;

    let format = match (args.format, layer.format.as_deref()) {
        (Some(f), _) => f,
        (None, Some(text)) => objcopy::Format::parse(text)?,
        (None, None) => Format::Elf,
    };
    let (file, default_name) = match (&args.file, &package) {
        (Some(file), _) => {
            let stem = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            (file.clone(), stem)
        }
        (None, Some(p)) => {
            let bin = match (&args.bin, p.bins.as_slice()) {
                (Some(b), _) => b.clone(),
                (None, [only]) => only.clone(),
                (None, []) => {
                    return Err(Error::Cargo(format!(
                        "package {} has no binary target",
                        p.name
                    )))
                }
                (None, many) => {
                    return Err(Error::Cargo(format!(
                        "package {} has several binaries: pass --bin ({})",
                        p.name,
                        many.join(", ")
                    )))
                }
            };
            let spec = BuildSpec {
                manifest_path: Some(p.manifest_path.clone()),
                package: p.name.clone(),
                bin: bin.clone(),
                release: args.release,
                profile: args.profile.clone(),
                target: args.target.clone(),
                features: args.features.clone(),
            };
            let exe = if args.build {
                cargo::build(&spec, &stamp.build_env())?
            } else {
                cargo::locate(&spec, &p.target_directory)?
            };
            (exe, bin)
        }
        (None, None) => unreachable!("cargo mode loads the package"),
    };
    let file = if file.is_file() {
        objcopy::convert(
            &file,
            format,
            layer.objcopy.as_deref(),
            args.target.as_deref(),
        )?
    } else {
        return Err(Error::NotFound(format!(
            "artifact {} does not exist",
            file.display()
        )));
    };
    let request = Request {
        file,
        fw_type,
        name: layer.name.clone().unwrap_or(default_name),
        description: layer.description.clone(),
        stamp,
        extra_tags: layer.tags.clone(),
        device_types: layer.device_types.clone(),
        allow_republish: args.allow_republish,
        create_type: layer.create_type.unwrap_or(false),
        signing: signing(ctx, args)?,
    };
    let outcome = publish(ctx, &api, &request).await.map_err(|e| match e {
        Error::Rejected {
            status,
            kind,
            detail,
        } if detail.contains("not registered") => Error::Rejected {
            status,
            kind,
            detail: format!("{detail} (or pass --create-type, with the admin scope)"),
        },
        other => other,
    })?;
    report(&outcome, args.json);
    Ok(())
}
