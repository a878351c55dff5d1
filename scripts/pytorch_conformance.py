#!/usr/bin/env python3
"""Accuracy of zkattest on the ONNX package's PyTorch conformance tests (a benchmark).

The `onnx` Python package ships 82 PyTorch-exported models with inputs and expected outputs
(onnx/backend/test/data/pytorch-converted). For each: the model and its input are written to a
folder, `zkattest calibrate` quantizes it (trying 12, 14 and 16 lookup bits) and reports the
largest |quantized - float| on the input (float: zkattest's float graph, which the import
tests hold to tract and, where a model carries it, to onnxruntime), and the table prints it
relative to the largest expected output. The quantized reference is what the proofs prove, bit for bit (the conformance
tests check that on every model they prove), so "within 1 %" means a proof of that output.

Usage (after `cargo build --release -p zkattest`; needs `pip install onnx numpy`):

    python3 scripts/pytorch_conformance.py [--bin target/release/zkattest] [--out DIR]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper


def convert(src, dst):
    """Writes network.onnx and input.json (with onnxruntime's expected output) for one test."""
    data = os.path.join(src, "test_data_set_0")
    load = lambda f: numpy_helper.to_array(onnx.load_tensor(os.path.join(data, f)))  # noqa: E731
    ins = [load(f) for f in sorted(os.listdir(data)) if f.startswith("input")]
    outs = [load(f) for f in sorted(os.listdir(data)) if f.startswith("output")]
    os.makedirs(dst, exist_ok=True)
    with open(os.path.join(src, "model.onnx"), "rb") as f, open(os.path.join(dst, "network.onnx"), "wb") as g:
        g.write(f.read())
    with open(os.path.join(dst, "input.json"), "w") as f:
        json.dump({
            "input_data": [a.astype(np.float64).ravel().tolist() for a in ins],
            "input_shapes": [list(a.shape) for a in ins],
            "float_output": [a.astype(np.float64).ravel().tolist() for a in outs],
        }, f)
    return max((float(np.max(np.abs(o))) for o in outs if o.size), default=0.0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "zkattest"))
    ap.add_argument("--out", default=None, help="folder for the converted models (default: a temporary one)")
    args = ap.parse_args()
    root = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "pytorch-converted")
    out = args.out or tempfile.mkdtemp(prefix="zkattest-pytorch-")
    rows, good = [], 0
    for name in sorted(os.listdir(root)):
        if not os.path.isdir(os.path.join(root, name, "test_data_set_0")):
            continue
        folder = os.path.join(out, name)
        peak = convert(os.path.join(root, name), folder)
        best, error = None, None
        for bits in ("12", "14", "16"):
            r = subprocess.run([args.bin, "calibrate", "--model", folder, "--lookup-bits", bits, "--json"],
                               capture_output=True, text=True)
            try:
                j = json.loads(r.stdout or r.stderr)
            except json.JSONDecodeError:
                j = {"error": (r.stdout + r.stderr).strip()[:160]}
            if "accuracy" in j:
                rel = j["accuracy"]["max_abs_error"] / max(peak, 1e-9)
                if best is None or rel < best[0]:
                    best = (rel, bits)
            elif error is None:
                error = j.get("error", "?")
        if best is None:
            rows.append((name, "error", (error or "?")[:100]))
        else:
            good += best[0] <= 0.01
            rows.append((name, "ok" if best[0] <= 0.01 else "inaccurate", f"{100 * best[0]:.3f} % at {best[1]} lookup bits"))
    width = max(len(r[0]) for r in rows)
    print(f"{'model':<{width}}  result      relative error")
    for name, result, detail in rows:
        print(f"{name:<{width}}  {result:<10}  {detail}")
    print(f"{good}/{len(rows)} within 1 % relative error")
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
