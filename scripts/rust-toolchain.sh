# Sourced by scripts/test and scripts/demo: the native core (native/, Rust) is built when
# the package is installed, so cargo and rustc >= 1.85 must be there. Puts rustup's
# ~/.cargo/bin on PATH when the shell lacks it; otherwise stops with what to install.
# shellcheck shell=bash
# rustup installs into ~/.cargo/bin, which a non-login shell may not have on PATH.
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
rust_help() {
  echo "$0: wardstream's native core (native/, Rust) needs cargo and rustc 1.85 or newer." >&2
  cat >&2 <<'HELP'
Install a stable Rust toolchain, then run this again:
  - Debian 13 (trixie) or newer:  apt-get install cargo rustc
    (Debian 12's packages are 1.63, too old: use rustup there; on other distributions
    use their cargo and rustc packages if they are 1.85 or newer)
  - anywhere rustup can be installed (https://rustup.rs, or your distribution's
    `rustup` package):  rustup toolchain install stable
  - macOS with Homebrew:  brew install rust
HELP
}
if ! command -v cargo >/dev/null 2>&1 || ! command -v rustc >/dev/null 2>&1; then
  echo "$0: cargo or rustc not found (looked on PATH and in ~/.cargo/bin)." >&2
  rust_help
  exit 2
fi
rust_version="$(rustc --version | awk '{print $2}')"
if [ "$(printf '%s\n' 1.85.0 "${rust_version%%-*}" | sort -V | head -n1)" != 1.85.0 ]; then
  echo "$0: rustc $rust_version is too old for the native core." >&2
  rust_help
  exit 2
fi

