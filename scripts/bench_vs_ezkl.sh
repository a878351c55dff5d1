#!/usr/bin/env bash
# scripts/bench_vs_ezkl.sh — side-by-side benchmark of zkattest and EZKL 23.0.5 on the same
# ONNX models, on this machine, in one run.
#
#   scripts/bench_vs_ezkl.sh [MODEL_DIR ...]
#       default: ../shared/models/4l_relu_conv_fc models/lenet5 (relative to the repo root;
#       arguments are relative to the current directory)
#
# For each model, strictly one after the other (the benchmark machines have 2 cores, and two
# provers at once would measure each other):
#   1. zkattest bench --model DIR --json                        under /usr/bin/time -v
#   2. ../shared/peer/ezkl_bench.py DIR --json --srs-dir SRS    under /usr/bin/time -v
# /usr/bin/time gives the whole process's wall time and peak RSS (everything, including SRS
# loading or generation), next to the step timings each tool reports itself.
#
# Output: $OUT (default target/bench/ezkl-vs-zkattest.json) holds the machine, tool versions
# and, per model, both tools' JSON plus the /usr/bin/time figures (or the error, when a run
# failed: a failing model is recorded and the next one still runs). A markdown table is printed
# and written next to it ($OUT with .md). Raw stdout/stderr/time logs stay in ${OUT%.json}.d/.
#
# Environment:
#   ZKATTEST_BIN   zkattest binary [default: $CARGO_TARGET_DIR/release/zkattest, else
#                  target/release/zkattest]. Copied into the run folder first, so a rebuild
#                  during the run cannot mix two binaries in one table.
#   OUT            result JSON path [default: target/bench/ezkl-vs-zkattest.json]
#   EZKL_SRS_DIR   EZKL's SRS cache [default: ~/.cache/ezkl-bench-srs]. EZKL generates a missing
#                  SRS inside its run (outside its setup/prove timings, but inside its peak RSS
#                  and wall time); the JSON marks such runs ("gen_srs" in ezkl.times_s).
#   EZKL_BENCH     the EZKL driver [default: ../shared/peer/ezkl_bench.py]
#   BENCH_TIMEOUT  per-run limit for timeout(1), e.g. 30m [default: 0 = none]
#   BENCH_WAIT_IDLE  seconds to wait, before each run, for other processes to stop using the
#                  CPU [default: 0]; runs that shared the CPU anyway are flagged (JSON and table)
#
# Both provers use insecure locally generated SRSs: the numbers are for benchmarking only.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
die() { echo "bench_vs_ezkl.sh: $*" >&2; exit 1; }
case "${1:-}" in -h|--help) sed -n '2,34p' "${BASH_SOURCE[0]}"; exit 0 ;; esac

# ------------------------------------------------------------------------ inputs
# Model folders: arguments resolved against the caller's directory, defaults against the root.
models=()
if [ "$#" -gt 0 ]; then
  for m in "$@"; do
    { [ -f "$m/network.onnx" ] && [ -f "$m/input.json" ]; } || die "$m: needs network.onnx and input.json"
    models+=("$(cd "$m" && pwd -P)")
  done
fi
cd "$ROOT"
if [ "${#models[@]}" -eq 0 ]; then
  for m in ../shared/models/4l_relu_conv_fc models/lenet5; do
    [ -f "$m/network.onnx" ] || die "default model $m not found (pass model folders as arguments)"
    models+=("$(cd "$m" && pwd -P)")
  done
fi

ZK_BIN="${ZKATTEST_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/zkattest}"
[ -x "$ZK_BIN" ] || die "zkattest binary not found at $ZK_BIN (build it or set ZKATTEST_BIN)"
EZKL_BENCH="${EZKL_BENCH:-$ROOT/../shared/peer/ezkl_bench.py}"
[ -f "$EZKL_BENCH" ] || die "EZKL driver not found at $EZKL_BENCH (set EZKL_BENCH)"
SRS_DIR="${EZKL_SRS_DIR:-$HOME/.cache/ezkl-bench-srs}"
OUT="${OUT:-$ROOT/target/bench/ezkl-vs-zkattest.json}"
RUN_DIR="${OUT%.json}.d"
TIMEOUT="${BENCH_TIMEOUT:-0}"
WAIT_IDLE="${BENCH_WAIT_IDLE:-0}"
[ -x /usr/bin/time ] || die "/usr/bin/time (GNU time, Debian package 'time') is required for peak RSS"

# -------------------------------------------------------------------- EZKL venv
# Idempotent: the venv is reused while its stamp matches the requirements file (pinned version
# and wheel hashes) and ezkl imports at the pinned version; otherwise it is rebuilt.
VENV="$ROOT/.tools/ezkl-venv"
REQ="$ROOT/scripts/requirements-ezkl.txt"
EZKL_VERSION=23.0.5
STAMP="$VENV/.installed-stamp"
stamp="$(sha256sum "$REQ" | cut -d' ' -f1)"
venv_ok() {
  [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$stamp" ] &&
    [ "$("$VENV/bin/python" -c 'import ezkl; print(ezkl.__version__)' 2>/dev/null)" = "$EZKL_VERSION" ]
}
if ! venv_ok; then
  echo "==> installing ezkl==$EZKL_VERSION into .tools/ezkl-venv" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --require-hashes --only-binary :all: -r "$REQ"
  "$VENV/bin/python" -c 'import ezkl; print(ezkl.__version__)' | grep -qx "$EZKL_VERSION" ||
    die "ezkl $EZKL_VERSION did not install"
  echo "$stamp" > "$STAMP"
fi

# ------------------------------------------------------------------------- runs
mkdir -p "$RUN_DIR" "$SRS_DIR"
# Snapshot the binary: others may rebuild target/ while a long EZKL run is going.
cp "$ZK_BIN" "$RUN_DIR/zkattest"
echo "$ZK_BIN" > "$RUN_DIR/zkattest.source"
# The checkout's state when the run starts (others may commit during a long run).
{ git rev-parse --short HEAD && { [ -z "$(git status --porcelain)" ] || echo "(dirty)"; }; } 2>/dev/null |
  paste -sd' ' > "$RUN_DIR/git_head" || true

# This machine may be shared with someone building or testing: anything else using the CPU
# while a prover runs skews its timings. So, before each run, wait up to $BENCH_WAIT_IDLE seconds
# for the machine to go quiet (other processes using < 0.2 core over 5 s), and record the
# machine's total busy CPU time (/proc/stat) around each run: the report subtracts the run's own
# CPU time (from /usr/bin/time) and flags runs that shared the CPU, instead of hiding it.
busy_ticks() { awk '/^cpu /{ print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; } # user..steal, no idle/iowait
HZ="$(getconf CLK_TCK)"
wait_idle() {
  local waited=0 t0 used
  while :; do
    t0="$(busy_ticks)"; sleep 5; used=$(( $(busy_ticks) - t0 ))
    [ "$used" -ge "$HZ" ] || return 0          # < 1 CPU-second in 5 s: quiet
    [ "$waited" -lt "$WAIT_IDLE" ] || break
    waited=$((waited + 5))
  done
  echo "    warning: other processes are using the CPU ($((used * 100 / HZ / 5))% of a core): timings will be skewed" >&2
}

# run_timed NAME DIR CMD...: runs CMD under /usr/bin/time -v, stdout/stderr/time to
# DIR/NAME.{out,err,time}, machine busy ticks before/after to DIR/NAME.cpu. Never fails: the
# exit status goes to DIR/NAME.rc.
run_timed() {
  local name="$1" dir="$2"; shift 2
  wait_idle
  local rc=0 t0
  t0="$(busy_ticks)"
  /usr/bin/time -v -o "$dir/$name.time" timeout "$TIMEOUT" "$@" \
    > "$dir/$name.out" 2> "$dir/$name.err" || rc=$?
  echo "$HZ $t0 $(busy_ticks)" > "$dir/$name.cpu"
  echo "$rc" > "$dir/$name.rc"
  [ "$rc" = 0 ] || echo "    $name failed (exit $rc), see $dir/$name.err" >&2
}

entries=()
i=0
for model in "${models[@]}"; do
  i=$((i + 1))
  name="$(basename "$model")"
  d="$RUN_DIR/$i-$name"
  rm -rf "$d"; mkdir -p "$d"
  echo "$model" > "$d/model_dir"
  entries+=("$d")

  echo "==> [$i/${#models[@]}] $name: zkattest" >&2
  run_timed zkattest "$d" "$RUN_DIR/zkattest" bench --model "$model" --json

  echo "==> [$i/${#models[@]}] $name: EZKL $EZKL_VERSION" >&2
  # The driver works in a temp folder and leaves it behind on failure; keep it in ours and
  # remove it afterwards (EZKL's proving key can be gigabytes).
  mkdir -p "$d/tmp"
  TMPDIR="$d/tmp" run_timed ezkl "$d" "$VENV/bin/python" "$EZKL_BENCH" "$model" --json --srs-dir "$SRS_DIR"
  rm -rf "$d/tmp"
done

# ------------------------------------------------------------------ collect + table
"$VENV/bin/python" - "$OUT" "$RUN_DIR" "$EZKL_VERSION" "${entries[@]}" <<'PY'
import datetime, hashlib, json, os, platform, re, subprocess, sys

out, run_dir, ezkl_version, entries = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]

def read(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default

def time_v(path):
    """Wall seconds, peak RSS (MB) and termination from a /usr/bin/time -v report."""
    t, r = read(path), {}
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t)
    if m:
        secs = 0.0
        for part in m.group(1).split(":"):
            secs = secs * 60 + float(part)
        r["wall_s"] = round(secs, 2)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", t)
    if m:
        r["max_rss_mb"] = round(int(m.group(1)) / 1024, 1)
    cpu = re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", t)
    if len(cpu) == 2:
        r["cpu_s"] = round(float(cpu[0]) + float(cpu[1]), 2)
    m = re.search(r"Command terminated by signal (\d+)", t)
    if m:
        r["signal"] = int(m.group(1))
    return r

def last_json(text):
    """The tool's JSON: all of stdout, else its last line that parses (in case of log lines)."""
    try:
        return json.loads(text)
    except ValueError:
        for line in reversed(text.strip().splitlines()):
            try:
                v = json.loads(line)
                if isinstance(v, dict):
                    return v
            except ValueError:
                pass
    return None

def ezkl_fidelity(err):
    """EZKL's calibration report on stderr (scales and error of its quantized output vs float)."""
    m = re.search(r"Numerical Fidelity Report \((.*?)\)", err)
    if not m:
        return None
    r = {k.strip(): int(v) for k, v in (kv.split(":") for kv in m.group(1).split(","))}
    rows = [l for l in err[m.end():].splitlines() if l.startswith("|")][:2]
    if len(rows) == 2:
        cols = [[c.strip() for c in l.strip("|").split("|")] for l in rows]
        r.update({k: float(v) for k, v in zip(*cols)})
    return r

def tool(d, name):
    rc = int(read(f"{d}/{name}.rc", "-1").strip() or -1)
    r = {"exit_status": rc, "time_v": time_v(f"{d}/{name}.time")}
    cpu = read(f"{d}/{name}.cpu").split()
    own = r["time_v"].get("cpu_s")
    if len(cpu) == 3 and own is not None:
        hz, t0, t1 = map(int, cpu)
        # CPU time the rest of the machine used during this run (a build, a test, ...)
        r["other_cpu_s"] = round(max(0.0, (t1 - t0) / hz - own), 2)
    out = last_json(read(f"{d}/{name}.out"))
    result = out if rc == 0 and out is not None and "error" not in out else None
    if result is None:
        # zkattest --json reports failures as {"error": ...} on stdout; EZKL as a traceback
        err = read(f"{d}/{name}.err").strip().splitlines()
        r["error"] = ((out or {}).get("error") or "\n".join(err[-15:])
                      or f"exit status {rc}, no output")
    else:
        r["result"] = result
    if name == "ezkl":
        r["calibration"] = ezkl_fidelity(read(f"{d}/{name}.err"))
    return r

def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""

zk_bin = f"{run_dir}/zkattest"
cpu = re.search(r"model name\s*:\s*(.*)", read("/proc/cpuinfo"))
mem = re.search(r"MemTotal:\s*(\d+)", read("/proc/meminfo"))
report = {
    "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "machine": {
        "nproc": os.cpu_count(),
        "cpu": cpu.group(1).strip() if cpu else None,
        "mem_total_gb": round(int(mem.group(1)) / 1024**2, 1) if mem else None,
        "kernel": platform.release(),
    },
    "zkattest": {
        "binary": read(f"{run_dir}/zkattest.source").strip(),
        "sha256": hashlib.sha256(open(zk_bin, "rb").read()).hexdigest(),
        "version": sh(f"'{zk_bin}' --version"),
        "git_head": read(f"{run_dir}/git_head").strip() or None,
    },
    "ezkl": {"version": ezkl_version, "python": platform.python_version()},
    "models": [],
}
for d in entries:
    report["models"].append({
        "model": os.path.basename(d).split("-", 1)[1],
        "model_dir": read(f"{d}/model_dir").strip(),
        "zkattest": tool(d, "zkattest"),
        "ezkl": tool(d, "ezkl"),
    })
os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
with open(out, "w") as f:
    json.dump(report, f, indent=2)

# Markdown table. Peak MB and wall s are /usr/bin/time's (whole process); the step times are
# each tool's own.
def f(v, fmt="{:.2f}"):
    return "—" if v is None else fmt.format(v)

head = ("| model | MACs | zk shards | zk k | zk keygen s | zk prove s | zk peak MB | zk proof B | zk max err | zk wall s "
        "| EZKL logrows | EZKL setup s | EZKL prove s | EZKL peak MB | EZKL proof B | EZKL max err | EZKL wall s "
        "| prove speedup |")
rows = [head, "|" + "---|" * (head.count("|") - 1)]
notes = []
for m in report["models"]:
    zk, ez = m["zkattest"], m["ezkl"]
    z, e = zk.get("result") or {}, ez.get("result") or {}
    zt, et = zk["time_v"], ez["time_v"]
    et_s = e.get("times_s", {})
    zp, ep = z.get("prove_s"), et_s.get("prove")
    cells = [
        m["model"], f(z.get("macs"), "{:,}"),
        f(z.get("shards"), "{}"), f(z.get("k"), "{}"), f(z.get("keygen_s")), f(zp),
        f(zt.get("max_rss_mb") if z else None, "{:.0f}"), f(z.get("proof_bytes"), "{:,}"),
        f(z.get("max_abs_error"), "{:.1e}"), f(zt.get("wall_s") if z else None, "{:.1f}"),
        f(e.get("logrows"), "{}"), f(et_s.get("setup")), f(ep),
        f(et.get("max_rss_mb") if e else None, "{:.0f}"), f(e.get("proof_bytes"), "{:,}"),
        f((ez.get("calibration") or {}).get("max_abs_error") if e else None, "{:.1e}"),
        f(et.get("wall_s") if e else None, "{:.1f}"),
        f(ep / zp if ep and zp else None, "{:.1f}x"),
    ]
    if "error" in zk:
        cells[2] = "failed"
        notes.append(f"- {m['model']}: zkattest failed: {zk['error'].splitlines()[-1]}")
    if "error" in ez:
        cells[11] = "failed"
        notes.append(f"- {m['model']}: EZKL failed: {ez['error'].splitlines()[-1]}")
    for tool_name, t in (("zkattest", zk), ("EZKL", ez)):
        other, wall = t.get("other_cpu_s"), t["time_v"].get("wall_s")
        # others averaged > 10% of a core (and used > 0.5 CPU-s: ignore noise on short runs)
        if other is not None and wall and other > max(0.5, 0.1 * wall):
            cells[0] = m["model"] + " ⚠"
            notes.append(f"- ⚠ {m['model']}: other processes used {other} CPU-s during the "
                         f"{wall} s {tool_name} run: its timings are skewed")
    if "gen_srs" in et_s:
        notes.append(f"- {m['model']}: EZKL generated its SRS in this run ({et_s['gen_srs']} s), "
                     "included in its wall time and peak RSS")
    rows.append("| " + " | ".join(cells) + " |")
table = "\n".join(rows + ([""] + notes if notes else [])) + "\n"
with open(os.path.splitext(out)[0] + ".md", "w") as fh:
    fh.write(table)
print(table, end="")
print(f"\nwritten: {out}", file=sys.stderr)
PY
