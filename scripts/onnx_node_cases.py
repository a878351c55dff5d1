#!/usr/bin/env python3
"""Proves the ONNX package's node conformance cases of some ops and compares each proven
output with the reference output the onnx package computes for the case (a benchmark).

The `onnx` wheel does not ship the node tests' data, but it ships their generators
(`onnx.backend.test.case.node`): this writes the cases whose name contains one of the given
substrings as `network.onnx` + `input.json` folders, runs `zkattest --json bench` on each
(compile, keygen, prove, verify) and prints the largest |proven - reference| per case, marking SUSPECT any case whose error
exceeds 1% of its outputs' magnitude (at least 1).

Usage (after `cargo build --release -p zkattest`; needs `pip install onnx numpy`):

    python3 scripts/onnx_node_cases.py scatter,gathernd [--bin target/release/zkattest] [--out DIR]
"""
import argparse
import json
import os
import subprocess
import tempfile

import numpy as np
import onnx
from onnx.backend.test.case.node import collect_testcases


def write_cases(patterns, out):
    """Writes every node case whose name contains a pattern; returns (folder, why not) pairs."""
    dirs = []
    for case in collect_testcases(None):
        if not any(p in case.name for p in patterns):
            continue
        d = os.path.join(out, case.name)
        ins, outs = case.data_sets[0]
        flat = lambda arrays: [np.asarray(a).astype(np.float64).ravel().tolist() for a in arrays]  # noqa: E731
        try:
            data = {
                "input_data": flat(ins),
                "input_shapes": [list(np.asarray(a).shape) for a in ins],
                "output_data": flat(outs),
            }
        except (ValueError, TypeError):
            # String or sequence tensors: nothing a fixed-point circuit takes.
            dirs.append((d, "tensors that are not numbers (strings, sequences)"))
            continue
        os.makedirs(d, exist_ok=True)
        onnx.save(case.model, os.path.join(d, "network.onnx"))
        with open(os.path.join(d, "input.json"), "w") as f:
            json.dump(data, f)
        dirs.append((d, None))
    return sorted(dirs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("patterns", help="comma-separated substrings of case names")
    ap.add_argument("--bin", default="target/release/zkattest")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    out = a.out or tempfile.mkdtemp(prefix="zkattest-node-cases-")
    rows, proven, suspects = [], 0, []
    print("| case | result | detail |\n| --- | --- | --- |", flush=True)

    def add(*row):
        rows.append(row)
        print(f"| {row[0]} | {row[1]} | {row[2]} |", flush=True)

    for d, skip in write_cases(a.patterns.split(","), out):
        name = os.path.basename(d)
        if skip:
            add(name, "not run", skip)
            continue
        want = [v for o in json.load(open(os.path.join(d, "input.json")))["output_data"] for v in o]
        r = subprocess.run([a.bin, "--json", "bench", "--model", d], capture_output=True, text=True)
        try:
            rep = json.loads(r.stdout)
        except json.JSONDecodeError:
            add(name, "failed", (r.stdout + r.stderr).strip()[-200:])
            continue
        if "error" in rep:
            add(name, "refused", rep["error"][:200])
            continue
        got = rep["output"]
        if len(got) != len(want):
            add(name, "wrong shape", f"{len(got)} outputs, {len(want)} expected")
            continue
        err = max((abs(g - w) for g, w in zip(got, want)), default=0.0)
        proven += 1
        # Far beyond any rounding of a fixed-point scale: a translation to look at (a proof
        # of a wrong value, as tract's Celu was), not noise.
        magnitude = max((abs(w) for w in want), default=0.0)
        result = "SUSPECT" if err > 0.01 * max(1.0, magnitude) else "proven"
        if result == "SUSPECT":
            suspects.append(name)
        add(name, result, f"k={rep['k']} max|err|={err:.3g} prove {rep['prove_s']:.1f} s")
    print(f"\n{proven} of {len(rows)} proven and verified (cases in {out})")
    if suspects:
        print(f"error above 1% of the outputs' magnitude: {', '.join(suspects)}")


if __name__ == "__main__":
    main()
