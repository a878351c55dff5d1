#!/usr/bin/env bash
# scripts/setup.sh — install the project's non-Rust tooling into .tools/ (gitignored).
#
#   .tools/bin/forge  wrapper around the native forge (npm @foundry-rs/forge-linux-amd64)
#   .tools/bin/anvil  symlink to the native anvil (npm @foundry-rs/anvil-linux-amd64)
#   .tools/bin/cast   symlink to the native cast (npm @foundry-rs/cast-linux-amd64)
#   .tools/bin/solc   wrapper running scripts/solc-shim.js on solcjs (npm `solc`)
#   .tools/bin/snarkjs symlink to snarkjs's CLI (npm `snarkjs`), for the tests' ceremony
#   .tools/npm/       npm prefix holding the pinned packages (own subfolder so
#                     other tools may share .tools/ without `npm ci` touching them)
#   .tools/npm/node_modules/@layerzerolabs/toolbox-foundry/lib/forge-std/
#                     forge-std sources (remapped as `forge-std/` in foundry.toml)
#
# Why npm for all of it: the project's machines (developers and CI) reach only
# package registries. foundryup, svm (forge's solc downloader) and git
# submodules would all need the open internet, so every tool comes as an npm
# package with pinned versions and integrity hashes (scripts/toolchain/
# package.json + package-lock.json).
#
# Idempotent: a stamp file records a hash of the manifest + lockfile + platform;
# when it matches and the binaries are present, npm is not run again. Pass
# --force to reinstall regardless.
#
# Usage:  scripts/setup.sh [--force]
#         export PATH="$PWD/.tools/bin:$PATH"     # optional, for bare `forge` etc.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
TOOLS="$ROOT/.tools"
BIN="$TOOLS/bin"
MANIFEST_DIR="$ROOT/scripts/toolchain"
NPM_DIR="$TOOLS/npm"
STAMP="$NPM_DIR/.installed-stamp"
FORGE_STD_DIR="$NPM_DIR/node_modules/@layerzerolabs/toolbox-foundry/lib/forge-std"

FORCE=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,25p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "setup.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

die() { echo "setup.sh: $*" >&2; exit 1; }

# ---------------------------------------------------------------- prerequisites
command -v node >/dev/null 2>&1 || die "node is required (>= 18)"
command -v npm  >/dev/null 2>&1 || die "npm is required"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
# The shim needs a modern node (it uses ??); 18 is the oldest LTS line still in use.
[ "$node_major" -ge 18 ] || die "node >= 18 required, found $(node --version)"

# Foundry's native binaries come as per-platform npm packages; Foundry 1.7.1
# publishes all three (forge, anvil, cast) only for linux-amd64, which is what
# the manifest pins. Fail early and clearly anywhere else.
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64|Linux-amd64) PLAT=linux-amd64 ;;
  *) die "unsupported platform $(uname -s)-$(uname -m): scripts/toolchain pins the linux-amd64 Foundry packages" ;;
esac

native_bin() { echo "$NPM_DIR/node_modules/@foundry-rs/$1-$PLAT/bin/$1"; }

# -------------------------------------------------------------------- install
# Hash with node (required anyway) so no other hashing tool is assumed.
stamp="$(node -e '
  const c = require("crypto").createHash("sha256");
  for (const f of process.argv.slice(1, 3)) c.update(require("fs").readFileSync(f));
  c.update(process.argv[3]);
  console.log(c.digest("hex"));
' "$MANIFEST_DIR/package.json" "$MANIFEST_DIR/package-lock.json" "$PLAT")"

installed_ok() {
  [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$stamp" ] || return 1
  for t in forge anvil cast; do [ -x "$(native_bin "$t")" ] || return 1; done
  [ -f "$NPM_DIR/node_modules/solc/soljson.js" ] && [ -f "$FORGE_STD_DIR/Test.sol" ] \
    && [ -f "$NPM_DIR/node_modules/snarkjs/build/cli.cjs" ]
}

if [ "$FORCE" = 1 ] || ! installed_ok; then
  echo "==> installing pinned npm packages into .tools/ (npm ci)"
  mkdir -p "$NPM_DIR"
  rm -f "$STAMP"   # an interrupted install must not look complete next time
  cp "$MANIFEST_DIR/package.json" "$MANIFEST_DIR/package-lock.json" "$NPM_DIR/"
  # npm ci: exact lockfile versions + integrity hashes. --ignore-scripts: none of
  # the pinned packages needs an install script, and this guarantees nothing
  # is downloaded except by npm itself.
  (cd "$NPM_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  for t in forge anvil cast; do
    [ -x "$(native_bin "$t")" ] \
      || die "npm did not install @foundry-rs/$t-$PLAT (is it published for this platform?)"
  done
  [ -f "$FORGE_STD_DIR/Test.sol" ] || die "forge-std not found at $FORGE_STD_DIR"
  echo "$stamp" > "$STAMP"
else
  echo "==> .tools/ is up to date (pinned packages already installed)"
fi

# ------------------------------------------------------------------- bin dir
# Cheap and idempotent: files are rewritten only when their content changes.
mkdir -p "$BIN"

write_if_changed() {  # write_if_changed <path> <mode>, content on stdin
  local tmp; tmp="$(mktemp "$1.XXXXXX")"
  cat > "$tmp"; chmod "$2" "$tmp"
  if [ -f "$1" ] && [ ! -L "$1" ] && cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv -f "$tmp" "$1"; fi
}

link_if_changed() {  # link_if_changed <target> <link>  (relative target survives moving the repo)
  if [ ! -L "$2" ] || [ "$(readlink "$2")" != "$1" ]; then ln -sfn "$1" "$2"; fi
}

# forge: a wrapper, not a symlink. forge resolves a relative `solc` path from
# foundry.toml against the *current directory*, not the project root, so
# `solc = ".tools/bin/solc"` alone only works when forge runs from the repo
# root. The wrapper points FOUNDRY_SOLC (which overrides foundry.toml) at this
# checkout's shim by absolute path, so forge works from any directory and with
# --root. A caller's own FOUNDRY_SOLC still wins.
write_if_changed "$BIN/forge" 755 <<EOF
#!/bin/sh
# Generated by scripts/setup.sh — edits are overwritten.
here=\$(dirname "\$(readlink -f "\$0")")
: "\${FOUNDRY_SOLC:=\$here/solc}"
export FOUNDRY_SOLC
exec "\$here/../npm/node_modules/@foundry-rs/forge-$PLAT/bin/forge" "\$@"
EOF

# anvil and cast never compile Solidity, so plain symlinks suffice.
link_if_changed "../npm/node_modules/@foundry-rs/anvil-$PLAT/bin/anvil" "$BIN/anvil"
# snarkjs: only the tests' multi-party Powers of Tau ceremony runs it (docs/trust.md).
link_if_changed "../npm/node_modules/snarkjs/build/cli.cjs" "$BIN/snarkjs"
link_if_changed "../npm/node_modules/@foundry-rs/cast-$PLAT/bin/cast" "$BIN/cast"

# solc: forge needs an executable; the shim is a node script in scripts/ (kept
# under version control, so it does not depend on its file mode surviving git).
write_if_changed "$BIN/solc" 755 <<'EOF'
#!/bin/sh
# Generated by scripts/setup.sh — edits are overwritten.
# solcjs (npm `solc`, wasm) behind a native-solc-like CLI; see scripts/solc-shim.js.
here=$(dirname "$(readlink -f "$0")")
exec node "$here/../../scripts/solc-shim.js" "$@"
EOF

# ------------------------------------------------------------------- summary
# Running each tool (not just reading package.json) proves the binaries work;
# values are captured in assignments first so that, under `set -e -o
# pipefail`, a tool that fails to run aborts the script instead of printing
# an empty version.
tool_version() {  # "1.7.1 (4072e48)" from foundry's multi-line --version output
  "$BIN/$1" --version 2>&1 | awk -v t="$1" '
    $0 ~ "^" t " Version: " { v = $3 } /^Commit SHA: / { c = substr($3, 1, 7) }
    END { print (v != "" ? v : "?") (c != "" ? " (" c ")" : "") }'
}
pkg_version() { node -p "require('$NPM_DIR/node_modules/$1/package.json').version"; }
forge_v="$(tool_version forge)"
anvil_v="$(tool_version anvil)"
cast_v="$(tool_version cast)"
solc_v="$("$BIN/solc" --version | tail -n 1 | sed 's/^Version: //')"
solcjs_v="$(pkg_version solc)"
# The package.json inside the bundle names the forge-std release it is based
# on; the sources are a slightly later upstream commit, hence the "+".
fstd_v="$(node -p "require('$FORGE_STD_DIR/package.json').version")"
lz_v="$(pkg_version @layerzerolabs/toolbox-foundry)"
echo "==> toolchain in .tools/bin"
echo "    forge      $forge_v"
echo "    anvil      $anvil_v"
echo "    cast       $cast_v"
echo "    solc       $solc_v  (npm solc $solcjs_v, wasm)"
echo "    forge-std  $fstd_v+ (from npm @layerzerolabs/toolbox-foundry $lz_v)"
case ":$PATH:" in
  *":$BIN:"*) ;;
  *) echo "    hint: export PATH=\"$BIN:\$PATH\"" ;;
esac
