//! ELF → raw binary / Intel hex with an objcopy: the configured one, the toolchain's own for
//! bare-metal ARM targets, then the LLVM and host ones.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Raw binary image (`objcopy -O binary`).
    Bin,
    /// Intel hex (`objcopy -O ihex`).
    Hex,
    /// The ELF as linked.
    Elf,
}

impl Format {
    pub fn parse(text: &str) -> Result<Format> {
        match text {
            "bin" => Ok(Format::Bin),
            "hex" => Ok(Format::Hex),
            "elf" => Ok(Format::Elf),
            other => Err(Error::Config(format!(
                "format {other:?}: expected bin, hex or elf"
            ))),
        }
    }
}

fn candidates(explicit: Option<&str>, target: Option<&str>) -> Vec<String> {
    let mut list = Vec::new();
    if let Some(e) = explicit {
        list.push(e.to_string());
    }
    if let Ok(e) = std::env::var("OBJCOPY") {
        list.push(e);
    }
    let bare_arm = target
        .is_some_and(|t| t.starts_with("thumb") || (t.starts_with("arm") && t.contains("none")));
    if bare_arm {
        list.push("arm-none-eabi-objcopy".into());
    }
    list.extend(["rust-objcopy", "llvm-objcopy", "objcopy"].map(String::from));
    list
}

/// Converts `elf` next to itself (`<elf>.bin` / `<elf>.hex`); `Elf` answers `elf` unchanged.
pub fn convert(
    elf: &Path,
    format: Format,
    explicit: Option<&str>,
    target: Option<&str>,
) -> Result<PathBuf> {
    let (flag, ext) = match format {
        Format::Elf => return Ok(elf.to_path_buf()),
        Format::Bin => ("binary", "bin"),
        Format::Hex => ("ihex", "hex"),
    };
    let out = PathBuf::from(format!("{}.{ext}", elf.display()));
    let mut tried = Vec::new();
    for program in candidates(explicit, target) {
        match Command::new(&program)
            .args(["-O", flag])
            .arg(elf)
            .arg(&out)
            .status()
        {
            Ok(status) if status.success() => return Ok(out),
            Ok(status) => {
                return Err(Error::Tool(format!(
                    "{program} -O {flag} failed ({status})"
                )))
            }
            Err(_) => tried.push(program),
        }
    }
    Err(Error::Tool(format!(
        "no objcopy found (tried {}): install binutils or set `objcopy` in [package.metadata.fwrepo]",
        tried.join(", ")
    )))
}
