//! Shell completions (bash, zsh, fish) and man pages rendered from a clap command line, and the
//! check that the committed copies the Debian packages install still describe that command line.
//!
//! Each binary crate commits its rendered files (`dist/` beside its manifest) so `cargo deb`
//! packages them with no generation step; a unit test in that crate calls [`assert_current`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap_complete::Shell;

/// Set to `1` to rewrite the committed files instead of comparing them.
pub const UPDATE_ENV: &str = "FWREPO_UPDATE_CLI_DOCS";

/// Every file rendered for `cmd`, by path relative to the output directory:
/// `completions/<bin>.bash`, `completions/_<bin>` (zsh), `completions/<bin>.fish`, and
/// `man/<bin>.1` plus `man/<bin>-<subcommand>.1` for each visible subcommand, recursively.
pub fn render(cmd: clap::Command) -> BTreeMap<PathBuf, Vec<u8>> {
    let bin = cmd.get_name().to_string();
    let mut files = BTreeMap::new();
    for (shell, name) in [
        (Shell::Bash, format!("{bin}.bash")),
        (Shell::Zsh, format!("_{bin}")),
        (Shell::Fish, format!("{bin}.fish")),
    ] {
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut cmd.clone(), &bin, &mut out);
        files.insert(Path::new("completions").join(name), out);
    }
    // As clap_mangen::generate_to does, but into memory: `build` gives each subcommand its
    // `<bin>-<sub>` display name, which names its page.
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    add_man_pages(cmd, &mut files);
    files
}

fn add_man_pages(cmd: clap::Command, files: &mut BTreeMap<PathBuf, Vec<u8>>) {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        add_man_pages(sub.clone(), files);
    }
    let man = clap_mangen::Man::new(cmd);
    let mut out = Vec::new();
    man.render(&mut out)
        .expect("rendering into memory cannot fail");
    files.insert(Path::new("man").join(man.get_filename()), out);
}

/// Panics with the list of stale files when `dir` does not hold exactly what [`render`] makes
/// for `cmd`; with `FWREPO_UPDATE_CLI_DOCS=1` rewrites `dir` instead.
pub fn assert_current(cmd: clap::Command, dir: &Path) {
    let files = render(cmd);
    if std::env::var(UPDATE_ENV).as_deref() == Ok("1") {
        write_all(&files, dir).expect("write the rendered files");
        return;
    }
    let stale = stale_files(&files, dir);
    assert!(
        stale.is_empty(),
        "{} is out of date ({}); regenerate with \
         `{UPDATE_ENV}=1 cargo test --workspace --lib -- cli_docs` and commit",
        dir.display(),
        stale.join(", ")
    );
}

/// Files that differ from the rendering, are missing, or are left over from a removed command.
fn stale_files(files: &BTreeMap<PathBuf, Vec<u8>>, dir: &Path) -> Vec<String> {
    let mut stale: Vec<String> = files
        .iter()
        .filter(|(path, bytes)| std::fs::read(dir.join(path)).ok().as_ref() != Some(*bytes))
        .map(|(path, _)| path.display().to_string())
        .collect();
    stale.extend(
        committed(dir)
            .into_iter()
            .filter(|path| !files.contains_key(path))
            .map(|path| format!("{} (no longer rendered)", path.display())),
    );
    stale
}

/// Writes the rendering and removes files of either folder that it no longer holds.
fn write_all(files: &BTreeMap<PathBuf, Vec<u8>>, dir: &Path) -> std::io::Result<()> {
    for path in committed(dir) {
        if !files.contains_key(&path) {
            std::fs::remove_file(dir.join(path))?;
        }
    }
    for (path, bytes) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("a file in a folder"))?;
        std::fs::write(path, bytes)?;
    }
    Ok(())
}

/// The files now in `dir/completions` and `dir/man`, relative to `dir`.
fn committed(dir: &Path) -> Vec<PathBuf> {
    ["completions", "man"]
        .into_iter()
        .flat_map(|sub| std::fs::read_dir(dir.join(sub)).into_iter().flatten())
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| entry.path().strip_prefix(dir).ok().map(Path::to_path_buf))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> clap::Command {
        clap::Command::new("demo")
            .version("1.2.3")
            .about("A demo")
            .subcommand(
                clap::Command::new("run")
                    .about("Runs it")
                    .arg(clap::arg!(--fast)),
            )
            .subcommand(clap::Command::new("secret").hide(true))
    }

    #[test]
    fn renders_completions_and_a_man_page_per_visible_subcommand() {
        let files = render(demo());
        let names: Vec<String> = files.keys().map(|p| p.display().to_string()).collect();
        assert_eq!(
            names,
            [
                "completions/_demo",
                "completions/demo.bash",
                "completions/demo.fish",
                "man/demo-run.1",
                "man/demo.1"
            ]
        );
        let bash = String::from_utf8_lossy(&files[Path::new("completions/demo.bash")]).to_string();
        assert!(bash.contains("run") && bash.contains("--fast"), "{bash}");
        let man = String::from_utf8_lossy(&files[Path::new("man/demo-run.1")]).to_string();
        assert!(
            man.contains(".TH demo-run 1") && man.contains("Runs it"),
            "{man}"
        );
    }

    #[test]
    fn stale_missing_and_left_over_files_are_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let files = render(demo());
        write_all(&files, dir).unwrap();
        assert!(stale_files(&files, dir).is_empty());
        std::fs::write(dir.join("man/demo.1"), "old").unwrap();
        std::fs::write(dir.join("man/demo-gone.1"), "old").unwrap();
        std::fs::remove_file(dir.join("completions/demo.fish")).unwrap();
        let stale = stale_files(&files, dir);
        assert_eq!(
            stale,
            [
                "completions/demo.fish",
                "man/demo.1",
                "man/demo-gone.1 (no longer rendered)"
            ]
        );
        write_all(&files, dir).unwrap();
        assert!(stale_files(&files, dir).is_empty());
    }
}
