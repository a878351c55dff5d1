#!/usr/bin/env bash
# The project's test command (see README), in two tiers:
#
#   scripts/test.sh          the PR tier (what .ci/run runs): fmt, clippy, every test binary
#                            in release mode (real halo2 proofs, real anvil, real PostgreSQL),
#                            at most one fresh aggregation, the forge tests.
#   scripts/test.sh --full   also the #[ignore]d full-tier tests (4-slot aggregation, the
#                            fixtures' proofs made fresh, the whole shared corpus) and a smoke
#                            run of every bench.
#
# Every phase prints its time, and a table of them closes the run. A test whose input is
# missing (../shared/models, the committed fixtures) fails; nothing is skipped silently.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
TIER=pr
for arg in "$@"; do
  case "$arg" in
    --full) TIER=full ;;
    -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "test.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done
[ -x .tools/bin/forge ] || bash scripts/setup.sh
export PATH="$ROOT/.tools/bin:$PATH"

# The demo and the cluster suite prove the same inference; with a folder of proofs by
# statement, the second reuses the first's aggregation (verified before use) instead of
# paying for another (prover/src/aggregate/reuse.rs). In the PR tier the folder lives in the
# machine's cache beside the SRS and the keys, so a warm run reuses the previous run's proof of
# the identical statement under the identical key (a changed circuit or key is a miss, and a
# fresh proof); the full tier starts from an empty folder and proves afresh.
WORK="$(mktemp -d "${TMPDIR:-/tmp}/zkattest-test.XXXXXX")"
if [ "$TIER" = full ]; then
  ZKATTEST_AGGREGATION_CACHE="$WORK/aggregation-reuse"
else
  ZKATTEST_AGGREGATION_CACHE="${ZKATTEST_CACHE:-$HOME/.cache/zkattest}/aggregation-reuse"
fi
export ZKATTEST_AGGREGATION_CACHE

TIMES=()
RESULTS="$WORK/results.log"
report() {
  echo "==> phase times ($TIER tier)"
  local line
  for line in "${TIMES[@]}"; do echo "    $line"; done
  # One closing line over every runner: cargo's "test result" lines and forge's summary.
  node -e '
    const t = require("fs").existsSync(process.argv[1]) ? require("fs").readFileSync(process.argv[1], "utf8") : "";
    let p = 0, f = 0;
    for (const m of t.matchAll(/test result: \w+\. (\d+) passed; (\d+) failed/g)) { p += +m[1]; f += +m[2]; }
    for (const m of t.matchAll(/(\d+) tests passed, (\d+) failed/g)) { p += +m[1]; f += +m[2]; }
    console.log(`zkattest: ${p} passed, ${f} failed`);
  ' "$RESULTS"
  rm -rf "$WORK"
}
trap report EXIT

phase() {  # phase <name> <command...>: runs it, records its time, fails the run if it fails
  local name="$1"; shift
  local start=$SECONDS status=0
  echo "==> $name"
  "$@" 2>&1 | tee -a "$RESULTS" || status=$?
  TIMES+=("$(printf '%-58s %6d s%s' "$name" $((SECONDS - start)) "$([ $status = 0 ] || echo "  FAILED ($status)")")")
  return $status
}

phase "cargo fmt --check" cargo fmt --all --check
phase "cargo clippy" cargo clippy --release --workspace --all-targets -- -D warnings
phase "build (release tests)" cargo test --release --workspace --no-run

# Dev SRS and aggregation keys (generated once per machine, then cached), and the committed
# verifier checked against them.
TARGET="$(cargo metadata --format-version 1 --no-deps | node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).target_directory)')"
phase "SRS and aggregation keys (gen-verifier --check)" \
  "$TARGET/release/zkattest" gen-verifier --check --json --root "$ROOT"

# Each test binary on its own, from its package folder as cargo runs it, so its time shows.
IGNORED=()
[ "$TIER" = full ] && IGNORED=(--include-ignored)
BINARIES="$(cargo test --release --workspace --no-run --message-format=json 2>/dev/null | node -e '
  const lines = require("fs").readFileSync(0, "utf8").split("\n");
  for (const l of lines) {
    if (!l.startsWith("{")) continue;
    const m = JSON.parse(l);
    if (m.reason !== "compiler-artifact" || !m.executable || !m.profile.test) continue;
    const dir = require("path").dirname(m.manifest_path);
    const name = require("path").basename(dir) + " " + m.target.kind[0] + " " + m.target.name;
    console.log([name, dir, m.executable].join("\t"));
  }
')"
[ -n "$BINARIES" ] || { echo "test.sh: no test binaries found" >&2; exit 1; }
while IFS=$'\t' read -r name dir exe; do
  phase "test $name" bash -c 'cd "$1" && shift && exec "$@"' _ "$dir" "$exe" "${IGNORED[@]}"
done <<< "$BINARIES"
phase "doc tests" cargo test --release --workspace --doc

if compgen -G "contracts/src/*.sol" >/dev/null; then
  phase "forge fmt --check" forge fmt --check
  phase "forge test" forge test
fi

if [ "$TIER" = full ]; then
  # A smoke run of every bench: the smallest configuration each offers, so a broken bench
  # fails here rather than when someone needs its numbers.
  export ZKATTEST_BENCH_SMOKE=1
  for bench in $(ls prover/benches verifier-gen/benches relayer/benches cluster/benches cli/benches 2>/dev/null | grep '\.rs$' | sed 's/\.rs$//'); do
    phase "bench $bench (smoke)" env -u ZKATTEST_AGGREGATION_CACHE cargo bench -q --workspace --bench "$bench"
  done
fi
