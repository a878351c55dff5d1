#!/usr/bin/env bash
# The project's test command (see README): formatting, lints, every Rust test in release
# mode (real halo2 proofs), and the Foundry tests. Conformance tests also read
# ../shared/models when that folder exists.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
[ -x .tools/bin/forge ] || bash scripts/setup.sh
export PATH="$ROOT/.tools/bin:$PATH"

echo "==> cargo fmt --check"
cargo fmt --all --check
echo "==> cargo clippy"
cargo clippy --release --workspace --all-targets -- -D warnings
echo "==> cargo test --release"
cargo test --release --workspace
if compgen -G "contracts/src/*.sol" >/dev/null; then
  echo "==> forge fmt --check && forge test"
  forge fmt --check
  forge test
fi
