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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("examples", help="EZKL's examples/onnx folder (one subfolder per model)")
    ap.add_argument("--bin", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "zkattest"))
    ap.add_argument("--out", help="write the table (.md) and the rows (.json) with this path stem")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per compile [1800]")
    ap.add_argument("--only", nargs="*", help="only these example names")
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
        rows.append(row)
        print(f"{name}: {row['status']} {row.get('detail', '')}".rstrip(), file=sys.stderr, flush=True)

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
    text = "\n".join(md)
    print(text)
    if args.out:
        with open(args.out + ".md", "w") as f:
            f.write(text + "\n")
        with open(args.out + ".json", "w") as f:
            json.dump({"binary": os.path.abspath(args.bin), "examples": os.path.abspath(args.examples), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
