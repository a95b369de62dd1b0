//! A firmware-style program: a fixed-size blink loop over a simulated LED register, with its
//! fwrepo stamp embedded in a `.fwrepo_stamp` link section. `cargo fwrepo publish --build`
//! passes the stamp in `FWREPO_STAMP`; an ordinary `cargo build` produces an "unstamped" image.
//! (On a real board this would be `#![no_std]` with a cortex-m runtime; the stamp works the same.)

/// The stamp string `fwrepo verify` looks for: version, commit and dirty flag.
const STAMP: &str = match option_env!("FWREPO_STAMP") {
    Some(stamp) => stamp,
    None => "unstamped",
};

const fn to_array<const N: usize>(text: &str) -> [u8; N] {
    let bytes = text.as_bytes();
    let mut out = [0u8; N];
    let mut i = 0;
    while i < bytes.len() && i < N {
        out[i] = bytes[i];
        i += 1;
    }
    out
}

/// NUL-terminated so a C tool can read it too; kept by the linker even if unreferenced.
#[used]
#[cfg_attr(target_os = "linux", link_section = ".fwrepo_stamp")]
static STAMP_BYTES: [u8; STAMP.len() + 1] = to_array(STAMP);

/// The firmware's version as a string, e.g. for a `version` console command.
pub fn version() -> &'static str {
    match option_env!("FWREPO_VERSION") {
        Some(v) => v,
        None => env!("CARGO_PKG_VERSION"),
    }
}

struct Led {
    register: u32,
}

impl Led {
    fn toggle(&mut self) {
        self.register ^= 1 << 12;
    }
}

fn main() {
    let mut led = Led { register: 0 };
    let cycles: u32 = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(4);
    for _ in 0..cycles {
        led.toggle();
    }
    let stamp = std::str::from_utf8(&STAMP_BYTES[..STAMP.len()]).unwrap_or("?");
    println!("blinky {} led={:#x} stamp={stamp}", version(), led.register);
}
