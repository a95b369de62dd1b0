//! Transfer progress: an indicatif bar on a terminal, plain start/finish lines otherwise
//! (CI logs want lines, not carriage returns). Always on stderr so `--json` stdout stays clean.

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bar,
    Lines,
    Quiet,
}

impl Mode {
    pub fn detect(quiet: bool) -> Mode {
        if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Bar
        } else {
            Mode::Lines
        }
    }
}

pub struct Progress {
    mode: Mode,
    bar: Option<ProgressBar>,
    label: String,
    started: Instant,
    total: u64,
}

impl Progress {
    pub fn start(mode: Mode, label: &str, total: u64) -> Progress {
        let bar = match mode {
            Mode::Bar => {
                let bar = ProgressBar::new(total);
                bar.set_style(
                    ProgressStyle::with_template(
                        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                    )
                    .expect("valid template")
                    .progress_chars("=> "),
                );
                bar.set_message(label.to_string());
                Some(bar)
            }
            Mode::Lines => {
                eprintln!("{label}: {total} bytes");
                None
            }
            Mode::Quiet => None,
        };
        Progress {
            mode,
            bar,
            label: label.to_string(),
            started: Instant::now(),
            total,
        }
    }

    pub fn set_position(&self, position: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(position);
        }
    }

    /// A handle a `'static` stream can count bytes on (`None` when there is no bar).
    pub fn counter(&self) -> Option<ProgressBar> {
        self.bar.clone()
    }

    pub fn inc(&self, delta: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(delta);
        }
    }

    pub fn note(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.println(message),
            None if self.mode == Mode::Lines => eprintln!("{message}"),
            None => {}
        }
    }

    pub fn finish(&self) {
        let elapsed = self.started.elapsed().as_secs_f64();
        match &self.bar {
            Some(bar) => bar.finish_and_clear(),
            None if self.mode == Mode::Lines => {
                eprintln!(
                    "{}: done, {} bytes in {elapsed:.2} s",
                    self.label, self.total
                )
            }
            None => {}
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            if !bar.is_finished() {
                bar.abandon();
            }
        }
    }
}
