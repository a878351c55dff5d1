#!/usr/bin/env bash
# Rewrites the committed real-proof fixtures (contracts/test/fixtures/) and, when the
# aggregation key changed, the committed verifier: a real aggregated proof of models/digits_mlp,
# a second model's proof and two proofs forged over broken shard chains. The fast test tier
# checks every rejection on them; it fails with "stale ... regenerate" when they no longer
# match the circuit. Four aggregations: ~15 min and ~9 GB on a 2-core machine.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
[ -x .tools/bin/forge ] || bash scripts/setup.sh
export PATH="$ROOT/.tools/bin:$PATH"
# Built with the workspace's feature set, so the test build's artifacts are reused.
cargo build --release --workspace --examples
"${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/regen_fixtures" "$ROOT"
