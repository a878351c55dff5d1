#!/usr/bin/env python3
"""Which of EZKL's example models zkattest compiles (a coverage benchmark, issue 16).

EZKL's repository keeps one folder per example under examples/onnx/ (network.onnx and
input.json). This runs `zkattest compile --json` on each, with the defaults; where the plan
needs shards larger than the default limit it tries again with `--max-k 18` (as a transformer
block needs). Each row gives the outcome, k, shards, the quantized model's largest error against
the float graph on the example's own input (compile's calibration report), or the first line
of the typed error. A table is printed and, with --out, written as markdown and JSON.

The models are read where they are, never copied into this repository. To get them:

    git clone --depth 1 https://github.com/zkonduit/ezkl /tmp/ezkl
    python3 scripts/ezkl_examples.py /tmp/ezkl/examples/onnx [--bin target/release/zkattest]

Folders without network.onnx or input.json, or whose network.onnx is a Git LFS pointer, are
counted as not evaluable and listed, not run.

With --prove, each compiled model is also set up, proven and verified (`zkattest setup`,
`prove`, `verify`), and the proven outputs are compared with onnxruntime's on the same input
(max abs error; where onnxruntime refuses the graph, against the outputs the example's
input.json records, its exporter's). With --ezkl, EZKL's own pipeline (its default settings, calibrated for
resources, up to its witness) runs on the same input in a child process, and its error
against onnxruntime is the row's "EZKL error": a model counts as within EZKL's error when
zkattest's is no larger, or at most 2^-13 (one step of the finest scale EZKL's calibration
picks by default). onnxruntime (and ezkl for --ezkl) must be importable: run it
with the venv of `pip install onnx onnxruntime numpy ezkl==23.0.5`.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

# The planner's refusal when one node's values do not fit the default shard size.
NEEDS_LARGER_SHARDS = ("--max-k", "max-k")


def evaluable(folder):
    onnx_path = os.path.join(folder, "network.onnx")
    input_path = os.path.join(folder, "input.json")
    if not os.path.isfile(onnx_path):
        return "no network.onnx"
    if not os.path.isfile(input_path):
        return "no input.json"
    with open(onnx_path, "rb") as f:
        if f.read(64).startswith(b"version https://git-lfs"):
            return "network.onnx is a Git LFS pointer"
    return None


def compile_once(binary, folder, out, extra, timeout):
    cmd = [binary, "--json", "compile", "--model", folder, "--out", out] + extra
    start = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout} s", time.monotonic() - start
    seconds = time.monotonic() - start
    if p.returncode == 0:
        try:
            return json.loads(p.stdout), None, seconds
        except json.JSONDecodeError:
            return None, "compile exited 0 without JSON", seconds
    lines = [l.strip() for l in (p.stderr or p.stdout).splitlines() if l.strip()]
    # anyhow prints "Error: <top>" then "Caused by:" lines: the top line names the node and op.
    message = next((l for l in lines if not l.startswith("Caused by")), f"exit {p.returncode}")
    return None, message, seconds


def run_json(cmd, timeout):
    """Runs a zkattest command with --json; returns (parsed stdout, None) or (None, error)."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout} s"
    if p.returncode != 0:
        lines = [l.strip() for l in (p.stderr or p.stdout).splitlines() if l.strip()]
        return None, next((l for l in lines if not l.startswith("Caused by")), f"exit {p.returncode}")
    try:
        return json.loads(p.stdout), None
    except json.JSONDecodeError:
        return None, "exited 0 without JSON"


def onnxruntime_outputs(folder):
    """onnxruntime's outputs on the example's input, flattened (None when it cannot run)."""
    import numpy as np
    import onnxruntime as ort

    data = json.load(open(os.path.join(folder, "input.json")))["input_data"]
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: old exports list their weights as inputs
    sess = ort.InferenceSession(os.path.join(folder, "network.onnx"), options, providers=["CPUExecutionProvider"])
    feeds = {}
    for meta, values in zip(sess.get_inputs(), data):
        kind = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64,
                "tensor(int32)": np.int32, "tensor(bool)": np.bool_}.get(meta.type, np.float32)
        shape = [d if isinstance(d, int) and d > 0 else 1 for d in meta.shape]
        flat = np.array(values, dtype=np.float64).reshape(-1)
        if int(np.prod(shape)) != flat.size:
            shape = [flat.size]
        feeds[meta.name] = flat.reshape(shape).astype(kind)
    return [float(v) for o in sess.run(None, feeds) for v in np.asarray(o, dtype=np.float64).reshape(-1)]


def prove_once(binary, out, folder, timeout):
    """setup, prove, verify an artifact folder; returns (proven outputs, prove s, error)."""
    _, err = run_json([binary, "--json", "setup", "--artifacts", out], timeout)
    if err:
        return None, None, f"setup: {err}"
    start = time.monotonic()
    proof = os.path.join(out, "proof.json")
    report, err = run_json([binary, "--json", "prove", "--artifacts", out, "--input",
                            os.path.join(folder, "input.json"), "--out", proof], timeout)
    seconds = time.monotonic() - start
    if err:
        return None, None, f"prove: {err}"
    _, err = run_json([binary, "--json", "verify", "--artifacts", out, "--proof", proof], timeout)
    if err:
        return None, seconds, f"verify: {err}"
    return report["outputs"], seconds, None


EZKL_CHILD = r"""
import json, os, sys, asyncio, inspect, shutil
import ezkl
def call(r):
    return asyncio.run(r) if inspect.iscoroutine(r) else r
folder, work = sys.argv[1], sys.argv[2]
for f in ("network.onnx", "input.json"):
    shutil.copy(os.path.join(folder, f), work)
os.chdir(work)
call(ezkl.gen_settings("network.onnx", "settings.json"))
call(ezkl.calibrate_settings("input.json", "network.onnx", "settings.json", "resources"))
call(ezkl.compile_circuit("network.onnx", "network.compiled", "settings.json"))
call(ezkl.gen_witness("input.json", "network.compiled", "witness.json"))
w = json.load(open("witness.json"))
outs = [float(v) for o in w["pretty_elements"]["rescaled_outputs"] for v in o]
s = json.load(open("settings.json"))
print(json.dumps({"outputs": outs, "logrows": s["run_args"]["logrows"], "scale": s["run_args"]["input_scale"]}))
"""


def ezkl_once(folder, timeout):
    """EZKL's calibrated witness on the example's input: (outputs, logrows) or an error."""
    with tempfile.TemporaryDirectory(prefix="ezkl-example-") as work:
        try:
            p = subprocess.run([sys.executable, "-c", EZKL_CHILD, folder, work], capture_output=True,
                               text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, f"timed out after {timeout} s"
        if p.returncode != 0:
            lines = [l.strip() for l in p.stderr.splitlines() if l.strip()]
            return None, (lines[-1] if lines else f"exit {p.returncode}")[:160]
        try:
            return json.loads(p.stdout.strip().splitlines()[-1]), None
        except (json.JSONDecodeError, IndexError):
            return None, "no result"


def max_abs(a, b):
    if a is None or b is None or len(a) != len(b):
        return None
    return max((abs(x - y) for x, y in zip(a, b)), default=0.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("examples", help="EZKL's examples/onnx folder (one subfolder per model)")
    ap.add_argument("--bin", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "zkattest"))
    ap.add_argument("--out", help="write the table (.md) and the rows (.json) with this path stem")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per compile [1800]")
    ap.add_argument("--only", nargs="*", help="only these example names")
    ap.add_argument("--prove", action="store_true", help="also set up, prove and verify each compiled model")
    ap.add_argument("--ezkl", action="store_true", help="also run EZKL's pipeline to its witness, for its error")
    ap.add_argument("--keep", action="store_true", help="keep each model's artifacts and proof")
    args = ap.parse_args()
    if not os.path.isfile(args.bin):
        sys.exit(f"ezkl_examples.py: no zkattest binary at {args.bin} (cargo build --release -p zkattest, or --bin)")
    if not os.path.isdir(args.examples):
        sys.exit(f"ezkl_examples.py: no folder {args.examples}")

    names = sorted(n for n in os.listdir(args.examples) if os.path.isdir(os.path.join(args.examples, n)))
    if args.only:
        names = [n for n in names if n in set(args.only)]
    work = tempfile.mkdtemp(prefix="zkattest-ezkl-examples-")
    rows = []
    for name in names:
        folder = os.path.join(args.examples, name)
        why = evaluable(folder)
        if why:
            rows.append({"model": name, "status": "not evaluable", "detail": why})
            continue
        out = os.path.join(work, name)
        summary, error, seconds = compile_once(args.bin, folder, out, [], args.timeout)
        flags = []
        if error and any(s in error for s in NEEDS_LARGER_SHARDS):
            flags = ["--max-k", "18"]
            summary, error, more = compile_once(args.bin, folder, out, flags, args.timeout)
            seconds += more
        row = {"model": name, "flags": " ".join(flags), "seconds": round(seconds, 1)}
        if summary:
            row.update(status="compiled", k=summary["k"], shards=summary["shards"],
                       scale_bits=summary["scale_bits"], max_abs_error=summary.get("max_abs_error"))
        else:
            row.update(status="refused", detail=error)
        if args.prove or args.ezkl:
            try:
                reference = onnxruntime_outputs(folder)
                row["reference"] = "onnxruntime"
            except Exception as e:  # onnxruntime refuses some examples' graphs; say so
                row["onnxruntime"] = str(e).splitlines()[0][:160]
                # The outputs the example was exported with (PyTorch's), where it has them.
                recorded = json.load(open(os.path.join(folder, "input.json"))).get("output_data")
                reference = [float(v) for o in recorded for v in o] if recorded else None
                row["reference"] = "input.json output_data" if recorded else None
        if args.prove and summary:
            proven, prove_s, err = prove_once(args.bin, out, folder, args.timeout)
            row.update(proven=err is None, prove_seconds=prove_s and round(prove_s, 1))
            if err:
                row["prove_detail"] = err
            row["error"] = max_abs(proven, reference)
        if args.ezkl:
            result, err = ezkl_once(folder, args.timeout)
            if result:
                row.update(ezkl_error=max_abs(result["outputs"], reference), ezkl_logrows=result["logrows"])
            else:
                row["ezkl_detail"] = err
        if args.prove and not args.keep:
            subprocess.run(["rm", "-rf", out])
        rows.append(row)
        proved = {True: " proven", False: " NOT proven"}.get(row.get("proven"), "")
        errors = "".join(f" {k} {row[k]:.2e}" for k in ("error", "ezkl_error") if row.get(k) is not None)
        print(f"{name}: {row['status']}{proved}{errors} {row.get('detail', '')}".rstrip(), file=sys.stderr, flush=True)
        if args.out:  # the rows so far, so a long run that stops keeps them
            with open(args.out + ".json", "w") as f:
                json.dump({"binary": os.path.abspath(args.bin), "examples": os.path.abspath(args.examples), "rows": rows}, f, indent=1)

    counted = [r for r in rows if r["status"] != "not evaluable"]
    compiled = [r for r in counted if r["status"] == "compiled"]
    md = ["| model | outcome | flags | k | shards | scale | max abs error vs float | s |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["status"] == "compiled":
            err = "" if r["max_abs_error"] is None else f"{r['max_abs_error']:.2e}"
            md.append(f"| {r['model']} | compiled | {r['flags']} | {r['k']} | {r['shards']} | 2^{r['scale_bits']} | {err} | {r['seconds']} |")
        else:
            detail = r["detail"].replace("|", "\\|")
            md.append(f"| {r['model']} | {r['status']}: {detail} | {r.get('flags', '')} | | | | | {r.get('seconds', '')} |")
    md.append("")
    md.append(f"compiled {len(compiled)} of {len(counted)} evaluable examples ({len(rows) - len(counted)} not evaluable)")
    if args.prove or args.ezkl:
        md += ["", "| model | proven and verified | prove s | reference | zkattest max abs error | EZKL's error (logrows) | within EZKL's |",
               "|---|---|---|---|---|---|---|"]
        within = 0
        for r in compiled:
            err, ez = r.get("error"), r.get("ezkl_error")
            ok = r.get("proven") and err is not None and (err <= 2 ** -13 or (ez is not None and err <= ez))
            within += bool(ok)
            fmt = lambda v: "" if v is None else f"{v:.2e}"
            ezkl = f"{fmt(ez)} ({r['ezkl_logrows']})" if "ezkl_logrows" in r else r.get("ezkl_detail", "")
            proven = "yes" if r.get("proven") else r.get("prove_detail", "")
            md.append(f"| {r['model']} | {proven} | {r.get('prove_seconds') or ''} | {r.get('reference') or 'none'} | {fmt(err)} | {ezkl} | {'yes' if ok else 'no'} |")
        md.append("")
        md.append(f"proven, verified and within EZKL's error: {within} of {len(counted)} evaluable examples")
    text = "\n".join(md)
    print(text)
    if args.out:
        with open(args.out + ".md", "w") as f:
            f.write(text + "\n")
        with open(args.out + ".json", "w") as f:
            json.dump({"binary": os.path.abspath(args.bin), "examples": os.path.abspath(args.examples), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
