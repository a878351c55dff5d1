#!/usr/bin/env python3
"""Export real scikit-learn models to ONNX with skl2onnx, under models/sklearn_*.

Deterministic: fixed seeds, single-threaded BLAS. No network access needed: the training data is
scikit-learn's bundled breast-cancer set (load_breast_cancer: 30 features, binary) for most
classifiers, the iris set (load_iris: 4 features, 3 classes) for the *_iris classifiers and the
diabetes set (load_diabetes: 10 features) for the regressors.

Every model is Pipeline(StandardScaler, estimator), so each ONNX graph starts with an
ai.onnx.ml Scaler. Converted with skl2onnx.to_onnx, input named `input` of shape [1, n_features]
(batch fixed at 1), opsets {"": 13, "ai.onnx.ml": 3}, classifiers with zipmap disabled so their
outputs are two tensors, `label` (int64 [1]) and `probabilities` (float [1, n_classes]), not a
ZipMap seq(map).

Usage (from the repository root, inside a venv with scripts/requirements-models.txt):

    python3 scripts/make_sklearn_models.py                 # (re)generate every model
    python3 scripts/make_sklearn_models.py sklearn_gbdt    # just one
    python3 scripts/make_sklearn_models.py --check         # retrain in memory, verify models/ matches

Each model folder gets (same layout as scripts/make_models.py):
    network.onnx   skl2onnx export, fixed batch dimension 1
    input.json     {"input_data": [[...]], "input_shapes": [[...]], "float_output": [[...]]}
                   input_data is test sample #0; float_output is onnxruntime's result for it, one flat
                   list per graph output (the int64 label is written as a float).
    samples.json   {"input_data": [[...], ...], "float_output": [[...], ...]}: the first N_SAMPLES (20)
                   test rows, one flat list of n_features floats each, and per row onnxruntime's
                   outputs concatenated in graph-output order into one flat list (classifier:
                   [label, p0, p1, ...]; regressor: [y]).
    README.md      dataset, model, test accuracy (or R^2), the ONNX op types it contains and the key
                   attributes of its ai.onnx.ml predictor node, what input.json and samples.json hold.
"""
import os

# Single-threaded BLAS so float summation order (and so every trained weight) is reproducible.
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
TARGET_OPSET = {"": 13, "ai.onnx.ml": 3}
IR_VERSION = 8  # same as scripts/make_models.py
TEST_SIZE = 0.25
SPLIT_SEED = 0
N_SAMPLES = 20  # test rows written to samples.json


# ----------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------
def split(loader):
    from sklearn.model_selection import train_test_split

    d = loader()
    # float32 from the start: the ONNX graph computes in float32, so train and evaluate on the
    # same values (tree thresholds in particular).
    x = d.data.astype(np.float32)
    y = d.target
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=TEST_SIZE, random_state=SPLIT_SEED)
    return dict(xtr=xtr, xte=xte, ytr=ytr, yte=yte, n_features=x.shape[1])


def datasets():
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

    iris = split(load_iris)
    # the same split with the classes named, as string labels (sorted, so index = original class)
    names = np.array(load_iris().target_names)
    iris_names = dict(iris, ytr=names[iris["ytr"]], yte=names[iris["yte"]])
    return {
        "breast_cancer": split(load_breast_cancer),
        "iris": iris,
        "iris_names": iris_names,
        "diabetes": split(load_diabetes),
    }


# ----------------------------------------------------------------------------------------------
# onnx / onnxruntime helpers
# ----------------------------------------------------------------------------------------------
def ort_session(model_bytes):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])


def op_types(model):
    """Sorted 'domain:op' strings ('ai.onnx' for the default domain)."""
    return sorted({f"{n.domain or 'ai.onnx'}:{n.op_type}" for n in model.graph.node})


def value_info_str(vi):
    t = vi.type.tensor_type
    dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in t.shape.dim]
    return f"{vi.name}: {onnx.TensorProto.DataType.Name(t.elem_type).lower()} {dims}"


def ml_attrs(model):
    """Key attributes of the ai.onnx.ml predictor nodes (not Scaler / ArrayFeatureExtractor), one
    (op_type, {name: value}) pair per node: post_transform, base_values, and for tree ensembles the
    number of trees, nodes, leaves and distinct leaf class_ids, aggregate_function, n_targets."""
    res = []
    for n in model.graph.node:
        if n.domain != "ai.onnx.ml" or n.op_type in ("Scaler", "ArrayFeatureExtractor"):
            continue
        a = {x.name: onnx.helper.get_attribute_value(x) for x in n.attribute}
        info = {"post_transform": a.get("post_transform", b"NONE").decode()}
        info["base_values"] = [float(v) for v in a.get("base_values", [])]
        if n.op_type.startswith("TreeEnsemble"):
            info["trees"] = len(set(a["nodes_treeids"]))
            info["nodes"] = len(a["nodes_nodeids"])
            info["leaves"] = sum(m == b"LEAF" for m in a["nodes_modes"])
        if n.op_type == "TreeEnsembleClassifier":
            info["distinct_class_ids"] = len(set(a["class_ids"]))
            info["classlabels"] = list(a.get("classlabels_int64s", [])) or [x.decode() for x in a["classlabels_strings"]]
        if n.op_type in ("TreeEnsembleRegressor", "LinearRegressor"):
            info["n_targets"] = a.get("n_targets", 1)
        if n.op_type == "TreeEnsembleRegressor":
            # skl2onnx leaves it out for forests (default SUM) and divides the leaf weights by n_estimators
            info["aggregate_function"] = (
                a["aggregate_function"].decode() if "aggregate_function" in a else "SUM (attribute absent, the default)"
            )
        res.append((n.op_type, info))
    return res


def ml_attrs_str(attrs):
    """One line per predictor node for the README, e.g. `post_transform SOFTMAX, 15 trees, ...`."""
    parts = []
    for op, a in attrs:
        bits = [f"post_transform {a['post_transform']}"]
        if "trees" in a:
            bits.append(f"{a['trees']} trees, {a['nodes']} nodes of which {a['leaves']} leaves")
        if "distinct_class_ids" in a:
            bits.append(f"{a['distinct_class_ids']} distinct leaf class_ids (classes {a['classlabels']})")
        if "aggregate_function" in a:
            bits.append(f"aggregate_function {a['aggregate_function']}")
        if "n_targets" in a:
            bits.append(f"n_targets {a['n_targets']}")
        bv = a["base_values"]
        bits.append(f"base_values [{', '.join(f'{v:.6g}' for v in bv)}] (length {len(bv)})" if bv else "no base_values")
        parts.append(f"`ai.onnx.ml:{op}`: " + ", ".join(bits))
    return "; ".join(parts)


def convert(pipe, n_features, options):
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    est = pipe.steps[-1][1]
    m = to_onnx(
        pipe,
        initial_types=[("input", FloatTensorType([1, n_features]))],
        target_opset=TARGET_OPSET,
        options={id(est): options} if options else None,
    )
    m.ir_version = IR_VERSION
    # skl2onnx 1.20 lists the default domain twice in opset_import for some models (LinearClassifier);
    # keep one entry per domain (the highest version), sorted by domain.
    versions = {}
    for o in m.opset_import:
        versions[o.domain] = max(versions.get(o.domain, 0), o.version)
    del m.opset_import[:]
    m.opset_import.extend(onnx.helper.make_opsetid(dom, v) for dom, v in sorted(versions.items()))
    onnx.checker.check_model(m, full_check=True)
    return m


def class_names(model):
    """A classifier's string labels (classlabels_strings), or None for integer labels."""
    for n in model.graph.node:
        for a in n.attribute:
            if a.name == "classlabels_strings" and a.strings:
                return [v.decode() for v in a.strings]
    return None


def numeric(outs, names):
    """onnxruntime's outputs with a string label output as its class index (what zkattest
    proves; the names stay in the model)."""
    return [np.searchsorted(names, o) if o.dtype.kind in "OUS" else o for o in outs]


def ort_run(sess, feed, names):
    return numeric(sess.run(None, feed), names)


def ort_predict_all(sess, xs, names=None):
    """Run every row of xs (batch 1) and return the outputs stacked per graph output."""
    name = sess.get_inputs()[0].name
    outs = [ort_run(sess, {name: x[None]}, names) for x in xs]
    return [np.concatenate([o[i] for o in outs]) for i in range(len(outs[0]))]


# ----------------------------------------------------------------------------------------------
# models
# ----------------------------------------------------------------------------------------------
def spec(est_fn, dataset, desc, classifier=True, options=None):
    """options: skl2onnx converter options for the estimator step; classifiers default to
    {"zipmap": False} (tensor outputs, no ZipMap)."""
    if options is None and classifier:
        options = {"zipmap": False}
    return dict(est_fn=est_fn, dataset=dataset, desc=desc, classifier=classifier, options=options)


def _linear_svc():
    from sklearn.svm import LinearSVC

    return LinearSVC(random_state=0)


def _logreg():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1000)


def _ridge():
    from sklearn.linear_model import Ridge

    return Ridge(alpha=1.0)


def _mlp():
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(hidden_layer_sizes=(16,), max_iter=500, random_state=0)


def _tree():
    from sklearn.tree import DecisionTreeClassifier

    return DecisionTreeClassifier(max_depth=4, random_state=0)


def _forest():
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0, n_jobs=1)


def _gbdt():
    from sklearn.ensemble import GradientBoostingClassifier

    return GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=0)


def _tree_iris():
    from sklearn.tree import DecisionTreeClassifier

    return DecisionTreeClassifier(max_depth=3, random_state=0)


def _forest_regressor():
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(n_estimators=5, max_depth=3, random_state=0, n_jobs=1)


SPECS = {
    "sklearn_logreg": spec(_logreg, "breast_cancer", "LogisticRegression(max_iter=1000)"),
    # skl2onnx's LinearSVC converter never emits a ZipMap and rejects the zipmap option. Yet with no
    # option at all for this step, skl2onnx 1.20's Pipeline parser injects {"zipmap": True} for it
    # and then fails ("Option 'zipmap' not in ['nocl', 'output_class_labels', 'raw_scores']").
    # Passing any option it accepts, here nocl=False (its default), avoids that.
    "sklearn_linear_svc": spec(_linear_svc, "breast_cancer", "LinearSVC(random_state=0)", options={"nocl": False}),
    "sklearn_ridge": spec(_ridge, "diabetes", "Ridge(alpha=1.0)", classifier=False),
    "sklearn_mlp": spec(_mlp, "breast_cancer", "MLPClassifier(hidden_layer_sizes=(16,), max_iter=500, random_state=0)"),
    "sklearn_decision_tree": spec(_tree, "breast_cancer", "DecisionTreeClassifier(max_depth=4, random_state=0)"),
    "sklearn_random_forest": spec(
        _forest, "breast_cancer", "RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0)"
    ),
    "sklearn_gbdt": spec(_gbdt, "breast_cancer", "GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=0)"),
    "sklearn_tree_iris": spec(_tree_iris, "iris", "DecisionTreeClassifier(max_depth=3, random_state=0)"),
    # multiclass: one tree per class per boosting stage
    "sklearn_gbdt_iris": spec(_gbdt, "iris", "GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=0)"),
    # string class labels: the label proven as its index, the names shown beside it
    "sklearn_logreg_iris_names": spec(_logreg, "iris_names", "LogisticRegression(max_iter=1000)"),
    "sklearn_forest_regressor": spec(
        _forest_regressor, "diabetes", "RandomForestRegressor(n_estimators=5, max_depth=3, random_state=0)", classifier=False
    ),
}

DATASET_DESC = {
    "breast_cancer": "scikit-learn's bundled Wisconsin breast-cancer set (`load_breast_cancer`: 569 samples, "
    "30 features, binary target 0 = malignant / 1 = benign)",
    "iris_names": "scikit-learn's bundled iris set (`load_iris`: 150 samples, 4 features) with its classes named "
    "(`target_names`: setosa, versicolor, virginica) and trained on the names, so the label output is a string",
    "iris": "scikit-learn's bundled iris set (`load_iris`: 150 samples, 4 features, 3 classes 0 = setosa / "
    "1 = versicolor / 2 = virginica)",
    "diabetes": "scikit-learn's bundled diabetes set (`load_diabetes`: 442 samples, 10 features, target = "
    "disease progression after one year, 25..346)",
}


def sklearn_reference(pipe, x, classifier):
    """What onnxruntime's outputs should equal, per graph output, for rows x (float32 values)."""
    if not classifier:
        return [pipe.predict(x).reshape(-1, 1)]
    est = pipe.steps[-1][1]
    label = pipe.predict(x)
    if label.dtype.kind in "OUS":
        label = np.searchsorted(est.classes_, label)
    if hasattr(est, "predict_proba"):
        second = pipe.predict_proba(x)
    else:  # LinearSVC: skl2onnx's second output is the decision function, [N, 1] for binary
        second = pipe.decision_function(x).reshape(len(x), -1)
    return [label, second]


def build(name, data):
    """Train and convert one model. Returns (files: {filename: bytes}, summary dict)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    s = SPECS[name]
    d = data[s["dataset"]]
    xtr, xte, ytr, yte = d["xtr"], d["xte"], d["ytr"], d["yte"]
    pipe = Pipeline([("scaler", StandardScaler()), ("model", s["est_fn"]())])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(xtr, ytr)
    model = convert(pipe, d["n_features"], s["options"])
    model_bytes = model.SerializeToString()
    sess = ort_session(model_bytes)
    names = class_names(model)
    if names is not None:
        yte = np.searchsorted(names, yte)

    # whole test set through onnxruntime, one row at a time (batch is fixed at 1)
    outs = ort_predict_all(sess, xte, names)
    refs = sklearn_reference(pipe, xte, s["classifier"])
    # relative to max(1, |sklearn|): the regressor's outputs are ~25..346
    max_diff = max(
        float(np.max(np.abs(o.astype(np.float64) - r) / np.maximum(1.0, np.abs(r)))) for o, r in zip(outs, refs)
    )
    if s["classifier"]:
        label_agree = float(np.mean(outs[0] == refs[0]))
        metric_name = "test accuracy"
        sk_metric = float(np.mean(refs[0] == yte))
        ort_metric = float(np.mean(outs[0] == yte))
        metric_str = f"{ort_metric * 100:.2f}%"
        sk_str = f"{sk_metric * 100:.2f}%"
    else:
        from sklearn.metrics import r2_score

        label_agree = None
        metric_name = "test R^2"
        sk_metric = float(r2_score(yte, refs[0].reshape(-1)))
        ort_metric = float(r2_score(yte, outs[0].reshape(-1)))
        metric_str = f"{ort_metric:.4f}"
        sk_str = f"{sk_metric:.4f}"

    # samples.json: the first N_SAMPLES test rows; per row all graph outputs concatenated (in graph
    # output order) into one flat list, the int64 label as a float
    xs = xte[:N_SAMPLES]
    samples = {
        "input_data": [[float(v) for v in x] for x in xs],
        "float_output": [
            [float(v) for o in ort_run(sess, {"input": x[None]}, names) for v in o.reshape(-1)] for x in xs
        ],
    }
    # the same rows through scikit-learn, laid out the same way
    sk_rows = np.concatenate(
        [r.reshape(len(xs), -1).astype(np.float64) for r in sklearn_reference(pipe, xs, s["classifier"])], axis=1
    )
    got = np.array(samples["float_output"], np.float64)
    assert got.shape == sk_rows.shape, (got.shape, sk_rows.shape)
    samples_diff = float(np.max(np.abs(got - sk_rows) / np.maximum(1.0, np.abs(sk_rows))))
    samples_labels_agree = bool(np.all(got[:, 0] == sk_rows[:, 0])) if s["classifier"] else None

    x0 = xte[:1]
    first = ort_run(sess, {"input": x0}, names)
    doc = {
        "input_data": [[float(v) for v in x0.reshape(-1)]],
        "input_shapes": [list(x0.shape)],
        "float_output": [[float(v) for v in o.reshape(-1)] for o in first],
    }
    ops = op_types(model)
    attrs = ml_attrs(model)
    outputs = [value_info_str(o) for o in model.graph.output]
    n_nodes = len(model.graph.node)
    opsets = ", ".join(f"{o.domain or 'ai.onnx'} {o.version}" for o in model.opset_import)

    shapes = [",".join(str(v) for v in o.shape) for o in first]
    out_names = [o.name for o in model.graph.output]
    if s["classifier"]:
        classes = [int(c) if names is None else str(c) for c in pipe.steps[-1][1].classes_]
        meaning = (
            "despite its name, the decision function for class 1 (label = 1 iff it is > 0; LinearSVC has no "
            "predict_proba)"
            if name == "sklearn_linear_svc"
            else f"predict_proba for classes {classes}"
        )
        label_type = "int64" if names is None else f"string, here the index of the class name in {names}"
        out_desc = (
            f"`{out_names[0]}` ({label_type} [{shapes[0]}], the predicted class) and `{out_names[1]}` "
            f"(float [{shapes[1]}], {meaning})"
        )
        y0 = f"label {int(yte[0])}" if names is None else f"label {int(yte[0])}, {names[int(yte[0])]}"
        second = "decision" if name == "sklearn_linear_svc" else ", ".join(f"p{c}" for c in classes)
        row_layout = f"[label, {second}]"
    else:
        out_desc = f"`{out_names[0]}` (float [{shapes[0]}], the predicted target)"
        y0 = f"target {float(yte[0]):g}"
        row_layout = "[y]"
    attrs_line = f"\n\nKey attributes: {ml_attrs_str(attrs)}." if attrs else ""
    readme = f"""# {name}
{metric_name[0].upper() + metric_name[1:]} {metric_str} (onnxruntime, float32; scikit-learn itself: {sk_str}) on a held-out split of {DATASET_DESC[s["dataset"]]}: train {len(xtr)} / test {len(xte)} (`train_test_split(test_size={TEST_SIZE}, random_state={SPLIT_SEED})`, features cast to float32).

Model: scikit-learn {_sk_version()} `Pipeline([("scaler", StandardScaler()), ("model", {s["desc"]})])`, exported with skl2onnx {_skl2onnx_version()} `to_onnx` (target_opset {json.dumps(TARGET_OPSET)}; the file declares opsets {opsets}; IR version {IR_VERSION}{", options " + json.dumps(s["options"]) if s["options"] else ""}). Input `input` float [1,{d["n_features"]}] (raw, unscaled features; the Scaler is in the graph). Outputs: {out_desc}.

ONNX op types ({n_nodes} nodes): {", ".join(f"`{o}`" for o in ops)}.{attrs_line}

`input.json` holds test sample #0 ({y0}); `float_output` is onnxruntime's output for it, one flat list per graph output.

`samples.json` holds the first {N_SAMPLES} test samples: `input_data` is {N_SAMPLES} flat lists of {d["n_features"]} float32 values (sample #0 first, the same as `input.json`), `float_output` is, per sample, onnxruntime's outputs concatenated in graph-output order into one flat list, {row_layout}{" (the label as a float)" if s["classifier"] else ""}. onnxruntime matches scikit-learn on all {N_SAMPLES}{" (same labels)" if s["classifier"] else ""}, max |ort - sklearn| / max(1, |sklearn|) = {samples_diff:.1e}.

Generated by `scripts/make_sklearn_models.py`.
"""
    files = {
        "network.onnx": model_bytes,
        "input.json": (json.dumps(doc, indent=2) + "\n").encode(),
        "samples.json": (json.dumps(samples, indent=2) + "\n").encode(),
        "README.md": (readme.rstrip() + "\n").encode(),
    }
    summary = dict(
        name=name,
        ops=ops,
        outputs=outputs,
        metric=f"{metric_name} {metric_str}",
        sk_metric=sk_metric,
        ort_metric=ort_metric,
        max_diff=max_diff,
        label_agree=label_agree,
        samples_diff=samples_diff,
        samples_labels_agree=samples_labels_agree,
        attrs=attrs,
        size=len(model_bytes),
        n_nodes=n_nodes,
    )
    return files, summary


def _sk_version():
    import sklearn

    return sklearn.__version__


def _skl2onnx_version():
    import skl2onnx

    return skl2onnx.__version__


# ----------------------------------------------------------------------------------------------
# checks
# ----------------------------------------------------------------------------------------------
def check_folder(name):
    """onnx.checker, and onnxruntime must reproduce float_output of input.json and of samples.json.
    Returns (input_ok, samples_ok)."""
    d = MODELS / name
    model = onnx.load(str(d / "network.onnx"))
    onnx.checker.check_model(model, full_check=True)
    sess = ort_session(model.SerializeToString())
    in_name = model.graph.input[0].name
    shape = [dim.dim_value for dim in model.graph.input[0].type.tensor_type.shape.dim]

    doc = json.loads((d / "input.json").read_text())
    assert len(doc["input_data"]) == len(model.graph.input) == len(doc["input_shapes"]) == 1
    x = np.array(doc["input_data"][0], np.float32).reshape(doc["input_shapes"][0])
    names = class_names(model)
    outs = ort_run(sess, {in_name: x}, names)
    assert len(outs) == len(doc["float_output"])
    input_ok = all(
        np.allclose(o.reshape(-1).astype(np.float64), np.array(f), rtol=1e-5, atol=1e-5)
        for o, f in zip(outs, doc["float_output"])
    )

    samples = json.loads((d / "samples.json").read_text())
    assert set(samples) == {"input_data", "float_output"}
    assert len(samples["input_data"]) == len(samples["float_output"]) == N_SAMPLES
    samples_ok = samples["input_data"][0] == doc["input_data"][0]
    for row, f in zip(samples["input_data"], samples["float_output"]):
        x = np.array(row, np.float32).reshape(shape)  # raises unless n_features values
        flat = np.concatenate([o.reshape(-1).astype(np.float64) for o in ort_run(sess, {in_name: x}, names)])
        samples_ok &= flat.shape == (len(f),) and bool(np.allclose(flat, np.array(f), rtol=1e-5, atol=1e-5))
    return input_ok, bool(samples_ok)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--check", action="store_true", help="retrain and convert in memory; verify the files in models/ match"
    )
    ap.add_argument("models", nargs="*", help=f"subset of {list(SPECS)}")
    args = ap.parse_args()
    names = args.models or list(SPECS)
    unknown = [n for n in names if n not in SPECS]
    if unknown:
        sys.exit(f"unknown model(s): {unknown}")
    data = datasets()
    ok = True
    for name in names:
        files, s = build(name, data)
        d = MODELS / name
        if args.check:
            same = {f: (d / f).is_file() and (d / f).read_bytes() == b for f, b in files.items()}
            reproduced = all(same.values())
            if not reproduced:
                print(f"{name}: files differ from a fresh build: {[f for f, v in same.items() if not v]}")
        else:
            d.mkdir(parents=True, exist_ok=True)
            for f, b in files.items():
                (d / f).write_bytes(b)
            reproduced = True
        runs, samples_run = check_folder(name)
        # sklearn vs onnxruntime on the whole test set and on the rows in samples.json: float32 graph
        # vs float64 sklearn
        agree = s["max_diff"] < 1e-3 and (s["label_agree"] is None or s["label_agree"] == 1.0)
        agree &= s["samples_diff"] < 1e-3 and s["samples_labels_agree"] in (None, True)
        ok &= reproduced and runs and samples_run and agree
        print(
            f"{name}: {s['metric']} (sklearn {s['sk_metric']:.4f}), {s['size']} bytes, {s['n_nodes']} nodes, "
            f"max|ort-sklearn|/max(1,|sklearn|) on test set {s['max_diff']:.2e}"
            + (f", labels agree {s['label_agree'] * 100:.1f}%" if s["label_agree"] is not None else "")
            + f", input.json {'OK' if runs else 'MISMATCH'}"
            + f", samples.json {'OK' if samples_run else 'MISMATCH'} (vs sklearn {s['samples_diff']:.2e}"
            + (f", labels {'agree' if s['samples_labels_agree'] else 'DIFFER'}" if s["samples_labels_agree"] is not None else "")
            + ")"
            + (f", bytes {'reproduced' if reproduced else 'DIFFER'}" if args.check else "")
        )
        print(f"    ops: {s['ops']}")
        print(f"    outputs: {s['outputs']}")
        for op, a in s["attrs"]:
            print(f"    {op}: {a}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
