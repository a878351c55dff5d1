#!/usr/bin/env python3
"""Generate zkattest's own small ONNX test models under models/.

Deterministic: fixed seeds, single-threaded BLAS. No network access needed: the
training data is scikit-learn's bundled 8x8 digits set (load_digits).

Usage (from the repository root, inside a venv with scripts/requirements-models.txt):

    python3 scripts/make_models.py            # (re)generate every model
    python3 scripts/make_models.py --check    # only verify the models already in models/

Each model folder gets:
    network.onnx   opset 13, fixed batch dimension 1
    input.json     {"input_data": [[...]], "input_shapes": [[...]], "float_output": [[...]]}
                   float_output is onnxruntime's float32 result for input_data (one flat list
                   per graph output), for reference when checking quantized proofs.
    README.md      what the model is, how it was trained, its accuracy.
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
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
OPSET = 13
IR_VERSION = 8  # oldest IR that carries opset 13 comfortably; widely readable (tract, onnxruntime)
TEST_SIZE = 0.25
SPLIT_SEED = 0


# ----------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------
def digits_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)  # pixel values 0..16 -> [0, 1]
    y = d.target.astype(np.int64)
    return train_test_split(x, y, test_size=TEST_SIZE, random_state=SPLIT_SEED, stratify=y)


def upsample32(x64):
    """[N, 64] 8x8 digits -> [N, 1, 32, 32] by 4x4 pixel replication (np.kron)."""
    imgs = x64.reshape(-1, 8, 8)
    return np.stack([np.kron(im, np.ones((4, 4), np.float32)) for im in imgs])[:, None].astype(np.float32)


# ----------------------------------------------------------------------------------------------
# onnx helpers
# ----------------------------------------------------------------------------------------------
class G:
    """Tiny graph builder on top of onnx.helper."""

    def __init__(self, name):
        self.name = name
        self.nodes = []
        self.inits = []
        self.n = 0

    def const(self, name, arr, dtype=np.float32):
        arr = np.asarray(arr, dtype=dtype)
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def op(self, op_type, inputs, out=None, **attrs):
        self.n += 1
        out = out or f"{op_type.lower()}_{self.n}"
        outs = out if isinstance(out, list) else [out]  # several outputs: a list of names
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=f"{op_type}_{self.n}", **attrs))
        return out

    def model(self, inputs, outputs, doc=""):
        graph = helper.make_graph(
            self.nodes,
            self.name,
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
            # an output is (name, shape) in float, or (name, shape, element type)
            [helper.make_tensor_value_info(o[0], o[2] if len(o) > 2 else TensorProto.FLOAT, o[1]) for o in outputs],
            initializer=self.inits,
        )
        m = helper.make_model(
            graph,
            producer_name="zkattest-make_models",
            producer_version="1",
            opset_imports=[helper.make_opsetid("", OPSET)],
            doc_string=doc,
        )
        m.ir_version = IR_VERSION
        onnx.checker.check_model(m, full_check=True)
        return m


def gemm(g, x, w_out_in, b, name):
    """Y = X @ W^T + b with W stored [out, in] (transB=1, PyTorch export layout)."""
    wn = g.const(f"{name}.weight", w_out_in)
    bn = g.const(f"{name}.bias", b)
    return g.op("Gemm", [x, wn, bn], alpha=1.0, beta=1.0, transB=1)


def conv(g, x, w, b, name, **attrs):
    wn = g.const(f"{name}.weight", w)
    bn = g.const(f"{name}.bias", b)
    return g.op("Conv", [x, wn, bn], **attrs)


def n_params(m):
    return int(sum(np.prod(t.dims) for t in m.graph.initializer if t.data_type == TensorProto.FLOAT))


def ort_session(model_bytes):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])


def ort_run(model, feeds):
    sess = ort_session(model.SerializeToString() if isinstance(model, onnx.ModelProto) else model)
    return sess.run(None, feeds)


def ort_accuracy(model, xs, ys):
    sess = ort_session(model.SerializeToString())
    name = sess.get_inputs()[0].name
    pred = np.array([int(np.argmax(sess.run(None, {name: x[None]})[0])) for x in xs])
    return float(np.mean(pred == ys)), pred


def save(folder, model, input_arrays, readme):
    """Write network.onnx, input.json (with onnxruntime float_output) and README.md."""
    d = MODELS / folder
    d.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(d / "network.onnx"))
    names = [i.name for i in model.graph.input]
    feeds = {n: np.asarray(a, np.float32) for n, a in zip(names, input_arrays)}
    outs = ort_run(model, feeds)
    doc = {
        "input_data": [[float(v) for v in a.reshape(-1)] for a in feeds.values()],
        "input_shapes": [list(a.shape) for a in feeds.values()],
        "float_output": [[float(v) for v in o.reshape(-1)] for o in outs],
    }
    (d / "input.json").write_text(json.dumps(doc, indent=2) + "\n")
    (d / "README.md").write_text(readme.rstrip() + "\n")
    return outs


# ----------------------------------------------------------------------------------------------
# a minimal numpy CNN trainer (conv / pool / dense, softmax cross-entropy, Adam)
# ----------------------------------------------------------------------------------------------
def im2col(x, k, pad):
    """x [N,C,H,W] -> cols [N*Ho*Wo, C*k*k] for stride-1 convolution."""
    if pad:
        x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))  # N,C,Ho,Wo,k,k
    n, c, ho, wo = win.shape[:4]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * k * k), (n, ho, wo)


def col2im(dcols, xshape, k, pad, nhw):
    n, c, h, w = xshape
    _, ho, wo = nhw
    d = dcols.reshape(n, ho, wo, c, k, k).transpose(0, 3, 1, 2, 4, 5)  # N,C,Ho,Wo,k,k
    dx = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dcols.dtype)
    for i in range(k):
        for j in range(k):
            dx[:, :, i : i + ho, j : j + wo] += d[:, :, :, :, i, j]
    return dx[:, :, pad : pad + h, pad : pad + w] if pad else dx


class NumpyCNN:
    """Layers: ("conv", F, k, pad) | ("relu",) | ("maxpool",) | ("avgpool",) | ("flatten",) | ("dense", out).

    Pools are 2x2 stride 2. Flatten is channel-major (C,H,W), matching ONNX Flatten on NCHW.
    """

    def __init__(self, in_shape, layers, rng):
        self.layers = layers
        self.params = []
        shape = in_shape  # (C,H,W) or (D,)
        for L in layers:
            if L[0] == "conv":
                f, k, pad = L[1:]
                c = shape[0]
                fan_in = c * k * k
                self.params.append(
                    [(rng.standard_normal((f, c, k, k)) * np.sqrt(2.0 / fan_in)).astype(np.float32), np.zeros(f, np.float32)]
                )
                shape = (f, shape[1] + 2 * pad - k + 1, shape[2] + 2 * pad - k + 1)
            elif L[0] in ("maxpool", "avgpool"):
                self.params.append(None)
                shape = (shape[0], shape[1] // 2, shape[2] // 2)
            elif L[0] == "flatten":
                self.params.append(None)
                shape = (int(np.prod(shape)),)
            elif L[0] == "dense":
                out = L[1]
                self.params.append(
                    [(rng.standard_normal((out, shape[0])) * np.sqrt(2.0 / shape[0])).astype(np.float32), np.zeros(out, np.float32)]
                )
                shape = (out,)
            else:
                self.params.append(None)

    def forward(self, x, keep=False):
        cache = []
        for L, p in zip(self.layers, self.params):
            if L[0] == "conv":
                f, k, pad = L[1:]
                cols, nhw = im2col(x, k, pad)
                y = cols @ p[0].reshape(f, -1).T + p[1]
                n, ho, wo = nhw
                cache.append((cols, nhw, x.shape))
                x = y.reshape(n, ho, wo, f).transpose(0, 3, 1, 2)
            elif L[0] == "relu":
                cache.append(x > 0)
                x = np.maximum(x, 0)
            elif L[0] == "maxpool":
                n, c, h, w = x.shape
                r = x.reshape(n, c, h // 2, 2, w // 2, 2)
                y = r.max(axis=(3, 5))
                cache.append((r == y[:, :, :, None, :, None], x.shape))
                x = y
            elif L[0] == "avgpool":
                n, c, h, w = x.shape
                cache.append(x.shape)
                x = x.reshape(n, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5))
            elif L[0] == "flatten":
                cache.append(x.shape)
                x = x.reshape(x.shape[0], -1)
            elif L[0] == "dense":
                cache.append(x)
                x = x @ p[0].T + p[1]
        return (x, cache) if keep else x

    def backward(self, dout, cache):
        grads = [None] * len(self.layers)
        for idx in range(len(self.layers) - 1, -1, -1):
            L, p, c = self.layers[idx], self.params[idx], cache[idx]
            if L[0] == "dense":
                grads[idx] = [dout.T @ c, dout.sum(0)]
                if idx:
                    dout = dout @ p[0]
            elif L[0] == "relu":
                dout = dout * c
            elif L[0] == "flatten":
                dout = dout.reshape(c)
            elif L[0] == "maxpool":
                mask, shape = c
                dout = (mask * dout[:, :, :, None, :, None]).reshape(shape)
            elif L[0] == "avgpool":
                n, ch, h, w = c
                dout = np.broadcast_to(dout[:, :, :, None, :, None] / 4.0, (n, ch, h // 2, 2, w // 2, 2)).reshape(c)
            elif L[0] == "conv":
                f, k, pad = L[1:]
                cols, nhw, xshape = c
                d2 = dout.transpose(0, 2, 3, 1).reshape(-1, f)
                grads[idx] = [(d2.T @ cols).reshape(p[0].shape), d2.sum(0)]
                if idx:
                    dout = col2im(d2 @ p[0].reshape(f, -1), xshape, k, pad, nhw)
        return grads

    def fit(self, x, y, epochs, rng, batch=64, lr=3e-3, wd=1e-4, log=""):
        b1, b2, eps, t = 0.9, 0.999, 1e-8, 0
        m = [[np.zeros_like(a) for a in p] if p else None for p in self.params]
        v = [[np.zeros_like(a) for a in p] if p else None for p in self.params]
        for ep in range(epochs):
            order = rng.permutation(len(x))
            for s in range(0, len(x), batch):
                bi = order[s : s + batch]
                logits, cache = self.forward(x[bi], keep=True)
                z = logits - logits.max(1, keepdims=True)
                prob = np.exp(z)
                prob /= prob.sum(1, keepdims=True)
                prob[np.arange(len(bi)), y[bi]] -= 1.0
                grads = self.backward((prob / len(bi)).astype(np.float32), cache)
                t += 1
                for p, gr, mm, vv in zip(self.params, grads, m, v):
                    if p is None:
                        continue
                    for j in range(2):
                        gj = gr[j] + (wd * p[j] if j == 0 else 0)
                        mm[j] = b1 * mm[j] + (1 - b1) * gj
                        vv[j] = b2 * vv[j] + (1 - b2) * gj * gj
                        mh = mm[j] / (1 - b1**t)
                        vh = vv[j] / (1 - b2**t)
                        p[j] -= (lr * mh / (np.sqrt(vh) + eps)).astype(np.float32)
            if log and (ep + 1) % max(1, epochs // 5) == 0:
                acc = np.mean(np.argmax(self.forward(x), 1) == y)
                print(f"  [{log}] epoch {ep + 1}/{epochs} train acc {acc:.4f}")


# ----------------------------------------------------------------------------------------------
# range normalization (keeps fixed-point values small; predictions unchanged)
# ----------------------------------------------------------------------------------------------
ACT_LIMIT = 8.0


def normalize_ranges(layers, x, limit=ACT_LIMIT):
    """Rescale trained layers so every Gemm/Conv output stays within +-limit on x.

    `layers` is a list of (apply, params) where apply(h, W, b) computes the layer output for
    parameter layers (params = [W, b], changed in place) and apply(h) for parameter-free ones.
    Every parameter-free layer must be positively homogeneous (ReLU, max/avg pool, flatten), so
    scaling layer l's W by s_l and b by C_l = s_1*...*s_l multiplies every later value, and the
    logits, by C_l > 0: argmax, and so every prediction, is unchanged. Returns C_L.
    """
    c = 1.0
    h = x
    for apply, p in layers:
        if p is None:
            h = apply(h)
            continue
        p[1] *= np.float32(c)  # the input is already scaled by c
        out = apply(h, p[0], p[1])
        s = min(1.0, limit / float(np.max(np.abs(out))))
        p[0] *= np.float32(s)
        p[1] *= np.float32(s)
        c *= s
        h = out * np.float32(s)
    return c


def normalize_sk_mlp(clf, x):
    relu = lambda h: np.maximum(h, 0)  # noqa: E731
    dense = lambda h, w, b: h @ w + b  # noqa: E731
    layers = []
    for i in range(len(clf.coefs_)):
        p = [clf.coefs_[i].astype(np.float32), clf.intercepts_[i].astype(np.float32)]
        layers.append((dense, p))
        if i < len(clf.coefs_) - 1:
            layers.append((relu, None))
    c = normalize_ranges(layers, x.astype(np.float32))
    ps = [p for _, p in layers if p is not None]
    clf.coefs_ = [p[0] for p in ps]
    clf.intercepts_ = [p[1] for p in ps]
    return c


def normalize_cnn(net, x):
    layers = []
    for L, p in zip(net.layers, net.params):
        single = NumpyCNN.__new__(NumpyCNN)
        single.layers, single.params = [L], [p]
        if p is None:
            layers.append((lambda h, s=single: s.forward(h), None))
        else:
            layers.append((lambda h, w, b, s=single: s.forward(h), p))
    return normalize_ranges(layers, x)


def range_note(c):
    return (
        f"After training, layers were rescaled by positive factors (cumulative logit factor {c:.4f}) so that every "
        f"Conv/Gemm output stays within +-{ACT_LIMIT:g} on the training set (keeps fixed-point values small). ReLU and "
        f"pooling are positively homogeneous, so this only multiplies the logits by that factor: every prediction, "
        f"and so the accuracy, is unchanged."
    )


# ----------------------------------------------------------------------------------------------
# models
# ----------------------------------------------------------------------------------------------
def sk_mlp(hidden, xtr, ytr, seed, alpha, max_iter):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(
        hidden_layer_sizes=hidden,
        activation="relu",
        solver="adam",
        alpha=alpha,
        batch_size=64,
        learning_rate_init=1e-3,
        max_iter=max_iter,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(xtr, ytr)
    return clf


def mlp_onnx(name, clf, doc):
    g = G(name)
    x = "input"
    nl = len(clf.coefs_)
    for i, (w, b) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        x = gemm(g, x, w.T.astype(np.float32), b.astype(np.float32), name=f"fc{i + 1}")
        if i < nl - 1:
            x = g.op("Relu", [x])
    g.nodes[-1].output[0] = "output"
    return g.model([("input", [1, 64])], [("output", [1, 10])], doc)


def make_digits_mlp(data):
    xtr, xte, ytr, yte = data
    clf = sk_mlp((32,), xtr, ytr, seed=0, alpha=1e-2, max_iter=300)
    sk_acc = clf.score(xte, yte)
    c = normalize_sk_mlp(clf, xtr)
    m = mlp_onnx("digits_mlp", clf, "MLP 64-32-10 (ReLU) on sklearn 8x8 digits")
    acc, _ = ort_accuracy(m, xte, yte)
    print(f"digits_mlp: sklearn test acc {sk_acc:.4f}, onnxruntime test acc {acc:.4f}")
    readme = f"""# digits_mlp
Test accuracy {acc * 100:.2f}% (onnxruntime, float32) on a held-out split of scikit-learn's 8x8 digits: train {len(xtr)} / test {len(xte)} (stratified, random_state={SPLIT_SEED}). Architecture: input [1,64] (pixels/16, in [0,1]) -> Gemm 64->32 -> Relu -> Gemm 32->10 -> logits [1,10]; {n_params(m)} parameters.

Trained with scikit-learn `MLPClassifier(hidden_layer_sizes=(32,), activation="relu", solver="adam", alpha=1e-2, batch_size=64, max_iter=300, random_state=0)`; weights written to ONNX (opset {OPSET}) with `onnx.helper`. {range_note(c)} `input.json` holds test digit #0 (label {yte[0]}); `float_output` is onnxruntime's output for it.
"""
    save("digits_mlp", m, [xte[:1]], readme)
    return dict(acc=acc, model=m)


def make_wide_mlp(data):
    xtr, xte, ytr, yte = data
    clf = sk_mlp((256, 256, 128), xtr, ytr, seed=0, alpha=1e-2, max_iter=200)
    sk_acc = clf.score(xte, yte)
    c = normalize_sk_mlp(clf, xtr)
    m = mlp_onnx("wide_mlp", clf, "MLP 64-256-256-128-10 (ReLU) on sklearn 8x8 digits")
    acc, _ = ort_accuracy(m, xte, yte)
    print(f"wide_mlp: sklearn test acc {sk_acc:.4f}, onnxruntime test acc {acc:.4f}")
    readme = f"""# wide_mlp
Test accuracy {acc * 100:.2f}% (onnxruntime, float32) on a held-out split of scikit-learn's 8x8 digits: train {len(xtr)} / test {len(xte)} (stratified, random_state={SPLIT_SEED}). Architecture: input [1,64] (pixels/16, in [0,1]) -> Gemm 64->256 -> Relu -> Gemm 256->256 -> Relu -> Gemm 256->128 -> Relu -> Gemm 128->10 -> logits [1,10]; {n_params(m)} parameters. Deliberately larger than needed, so that proving it takes several shards.

Trained with scikit-learn `MLPClassifier(hidden_layer_sizes=(256, 256, 128), activation="relu", solver="adam", alpha=1e-2, batch_size=64, max_iter=200, random_state=0)`; weights written to ONNX (opset {OPSET}) with `onnx.helper`. {range_note(c)} `input.json` holds test digit #1 (label {yte[1]}); `float_output` is onnxruntime's output for it.
"""
    save("wide_mlp", m, [xte[1:2]], readme)
    return dict(acc=acc, model=m)


def cnn_to_onnx(name, net, in_shape, doc):
    g = G(name)
    x = "input"
    shape = list(in_shape)
    ci = di = 0
    for L, p in zip(net.layers, net.params):
        if L[0] == "conv":
            ci += 1
            f, k, pad = L[1:]
            x = conv(g, x, p[0], p[1], f"conv{ci}", kernel_shape=[k, k], pads=[pad] * 4, strides=[1, 1])
        elif L[0] == "relu":
            x = g.op("Relu", [x])
        elif L[0] == "maxpool":
            x = g.op("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
        elif L[0] == "avgpool":
            x = g.op("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2])
        elif L[0] == "flatten":
            x = g.op("Flatten", [x], axis=1)
        elif L[0] == "dense":
            di += 1
            x = gemm(g, x, p[0], p[1], name=f"fc{di}")
    g.nodes[-1].output[0] = "output"
    return g.model([("input", [1] + shape)], [("output", [1, 10])], doc)


def make_digits_cnn(data):
    xtr, xte, ytr, yte = data
    rng = np.random.default_rng(1)
    net = NumpyCNN((1, 8, 8), [("conv", 4, 3, 1), ("relu",), ("maxpool",), ("flatten",), ("dense", 10)], rng)
    xtr4, xte4 = xtr.reshape(-1, 1, 8, 8), xte.reshape(-1, 1, 8, 8)
    net.fit(xtr4, ytr, epochs=60, rng=rng, batch=32, lr=1e-2, log="digits_cnn")
    np_acc = np.mean(np.argmax(net.forward(xte4), 1) == yte)
    c = normalize_cnn(net, xtr4)
    m = cnn_to_onnx("digits_cnn", net, (1, 8, 8), "CNN conv3x3(4)-relu-maxpool-gemm on sklearn 8x8 digits")
    acc, _ = ort_accuracy(m, xte4, yte)
    print(f"digits_cnn: numpy test acc {np_acc:.4f}, onnxruntime test acc {acc:.4f}")
    readme = f"""# digits_cnn
Test accuracy {acc * 100:.2f}% (onnxruntime, float32) on a held-out split of scikit-learn's 8x8 digits: train {len(xtr)} / test {len(xte)} (stratified, random_state={SPLIT_SEED}). Architecture: input [1,1,8,8] (pixels/16, in [0,1]) -> Conv 1->4 3x3 pad 1 -> Relu -> MaxPool 2x2 stride 2 -> Flatten (64) -> Gemm 64->10 -> logits [1,10]; {n_params(m)} parameters.

Trained end to end (conv and Gemm) by `scripts/make_models.py`'s own numpy trainer: softmax cross-entropy, Adam (lr 1e-2, weight decay 1e-4), batch 32, 60 epochs, He-normal init, seed 1. {range_note(c)} `input.json` holds test digit #2 (label {yte[2]}); `float_output` is onnxruntime's output for it.
"""
    save("digits_cnn", m, [xte4[2:3]], readme)
    return dict(acc=acc, model=m)


def make_lenet5(data):
    xtr, xte, ytr, yte = data
    rng = np.random.default_rng(5)
    layers = [
        ("conv", 6, 5, 0), ("relu",), ("avgpool",),
        ("conv", 16, 5, 0), ("relu",), ("avgpool",),
        ("flatten",), ("dense", 120), ("relu",), ("dense", 84), ("relu",), ("dense", 10),
    ]  # fmt: skip
    net = NumpyCNN((1, 32, 32), layers, rng)
    xtr32, xte32 = upsample32(xtr), upsample32(xte)
    net.fit(xtr32, ytr, epochs=8, rng=rng, batch=32, lr=2e-3, log="lenet5")
    np_acc = np.mean(np.argmax(net.forward(xte32), 1) == yte)
    c = normalize_cnn(net, xtr32)
    m = cnn_to_onnx("lenet5", net, (1, 32, 32), "LeNet-5-shaped CNN on sklearn digits upsampled to 32x32")
    acc, _ = ort_accuracy(m, xte32, yte)
    print(f"lenet5: numpy test acc {np_acc:.4f}, onnxruntime test acc {acc:.4f}")
    readme = f"""# lenet5
Test accuracy {acc * 100:.2f}% (onnxruntime, float32) on a held-out split of scikit-learn's 8x8 digits, each upsampled to 32x32 by 4x4 pixel replication (`np.kron`) and scaled to [0,1]: train {len(xtr)} / test {len(xte)} (stratified, random_state={SPLIT_SEED}). Architecture (LeNet-5 shape): input [1,1,32,32] -> Conv 1->6 5x5 -> Relu -> AveragePool 2x2 -> Conv 6->16 5x5 -> Relu -> AveragePool 2x2 -> Flatten (400) -> Gemm 400->120 -> Relu -> Gemm 120->84 -> Relu -> Gemm 84->10 -> logits [1,10]; {n_params(m)} parameters.

Trained end to end by `scripts/make_models.py`'s own numpy trainer: softmax cross-entropy, Adam (lr 2e-3, weight decay 1e-4), batch 32, 8 epochs, He-normal init, seed 5. {range_note(c)} `input.json` holds test digit #3 (label {yte[3]}) upsampled; `float_output` is onnxruntime's output for it.
"""
    save("lenet5", m, [xte32[3:4]], readme)
    return dict(acc=acc, model=m)


def make_ops_mix():
    rng = np.random.default_rng(13)
    u = lambda *s: rng.uniform(-0.5, 0.5, s).astype(np.float32)  # noqa: E731
    g = G("ops_mix")
    x = conv(g, "input", u(4, 2, 3, 3), u(4), "conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2])  # [1,4,2,2]
    bn = [g.const("bn.scale", rng.uniform(0.5, 1.5, 4)), g.const("bn.bias", u(4)),
          g.const("bn.mean", u(4) * 0.4), g.const("bn.var", rng.uniform(0.5, 1.5, 4))]  # fmt: skip
    x = g.op("BatchNormalization", [x] + bn, epsilon=1e-5)  # [1,4,2,2]
    x = g.op("LeakyRelu", [x], alpha=0.1)
    x = g.op("Transpose", [x], perm=[0, 2, 3, 1])  # [1,2,2,4]
    x = g.op("Reshape", [x, g.const("shape_1x4x4", [1, 4, 4], np.int64)])  # [1,4,4]
    s = g.op("Slice", [x, g.const("sl.starts", [0], np.int64), g.const("sl.ends", [2], np.int64),
                       g.const("sl.axes", [2], np.int64), g.const("sl.steps", [1], np.int64)])  # fmt: skip  [1,4,2]
    x = g.op("Concat", [x, s], axis=2)  # [1,4,6]
    x = g.op("MatMul", [x, g.const("mm.weight", u(6, 3))])  # [1,4,3]
    x = g.op("Add", [x, g.const("add.bias", u(3))])
    g.op("Sigmoid", [x], out="output")
    m = g.model([("input", [1, 2, 4, 4])], [("output", [1, 4, 3])], "op conformance mix")
    inp = rng.uniform(-1, 1, (1, 2, 4, 4)).astype(np.float32)
    readme = f"""# ops_mix
Op-conformance model (weights random, uniform in [-0.5, 0.5], seed 13; not trained, outputs mean nothing). {n_params(m)} float parameters.

input [1,2,4,4] -> Conv 2->4 3x3 stride 2 pad 1 [1,4,2,2] -> BatchNormalization (inference, eps 1e-5) -> LeakyRelu(alpha 0.1) -> Transpose perm [0,2,3,1] [1,2,2,4] -> Reshape [1,4,4] -> Concat(axis 2) of itself with Slice(axis 2, [0:2]) of itself [1,4,6] -> MatMul with constant [6,3] [1,4,3] -> Add constant [3] -> Sigmoid -> output [1,4,3].

`input.json` is uniform in [-1, 1] (seed 13); `float_output` is onnxruntime's output for it.
"""
    save("ops_mix", m, [inp], readme)
    return dict(acc=None, model=m)


def make_ops_mix2():
    rng = np.random.default_rng(14)
    u = lambda *s: rng.uniform(-0.5, 0.5, s).astype(np.float32)  # noqa: E731
    g = G("ops_mix2")
    x = g.op("Pad", ["input", g.const("pad.pads", [0, 0, 1, 1, 0, 0, 1, 1], np.int64), g.const("pad.value", 0.0)],
             mode="constant")  # fmt: skip  [1,3,8,8]
    x = conv(g, x, u(4, 3, 3, 3), u(4), "conv", kernel_shape=[3, 3], pads=[0, 0, 0, 0], strides=[1, 1])  # [1,4,6,6]
    x = g.op("PRelu", [x, g.const("prelu.slope", rng.uniform(0.05, 0.3, (4, 1, 1)))])
    x = g.op("GlobalAveragePool", [x])  # [1,4,1,1]
    x = g.op("Flatten", [x], axis=1)  # [1,4]
    y = gemm(g, x, rng.uniform(-1, 1, (6, 4)).astype(np.float32), u(6), name="fc1")  # [1,6]
    a = g.op("Sub", [y, g.const("sub.c", u(6))])
    a = g.op("Mul", [a, g.const("mul.c", [1.5])])
    a = g.op("Div", [a, g.const("div.c", [2.0])])
    sq = g.op("Mul", [a, a])  # x*x
    r = g.op("Relu", [y])
    prod = g.op("Mul", [sq, r])  # elementwise product of two different activations
    z = g.op("Add", [prod, a])
    gemm(g, z, rng.uniform(-1, 1, (3, 6)).astype(np.float32), u(3), name="fc2")
    g.nodes[-1].output[0] = "output"
    m = g.model([("input", [1, 3, 6, 6])], [("output", [1, 3])], "op conformance mix 2")
    inp = rng.uniform(-1, 1, (1, 3, 6, 6)).astype(np.float32)
    readme = f"""# ops_mix2
Op-conformance model (weights random, seed 14; not trained, outputs mean nothing). {n_params(m)} float parameters.

input [1,3,6,6] -> Pad (constant 0, 1 pixel each side of H and W) [1,3,8,8] -> Conv 3->4 3x3 no pad [1,4,6,6] -> PRelu (per-channel slope [4,1,1]) -> GlobalAveragePool [1,4,1,1] -> Flatten [1,4] -> Gemm 4->6 = y;
a = ((y - c) * 1.5) / 2.0 (Sub, Mul and Div by constants); z = (a * a) * Relu(y) + a (x*x and an elementwise Mul of two different activations); output = Gemm 6->3 (z) [1,3].

`input.json` is uniform in [-1, 1] (seed 14); `float_output` is onnxruntime's output for it.
"""
    save("ops_mix2", m, [inp], readme)
    return dict(acc=None, model=m)


def make_many_outputs():
    """More outputs (40) than an aggregated proof shows (30): attested by commitment."""
    rng = np.random.default_rng(40)
    g = G("many_outputs")
    h = g.op("Relu", [gemm(g, "input", rng.uniform(-0.5, 0.5, (16, 8)).astype(np.float32),
                           rng.uniform(-0.2, 0.2, 16).astype(np.float32), "fc1")])  # fmt: skip
    gemm(g, h, rng.uniform(-0.5, 0.5, (40, 16)).astype(np.float32), rng.uniform(-0.2, 0.2, 40).astype(np.float32),
         "fc2")  # fmt: skip
    g.nodes[-1].output[0] = "output"
    m = g.model([("input", [1, 8])], [("output", [1, 40])], "more outputs than the public slots")
    inp = rng.uniform(-1, 1, (1, 8)).astype(np.float32)
    readme = f"""# many_outputs
Random weights (seed 40; not trained, outputs mean nothing). {n_params(m)} float parameters.

input [1,8] -> Gemm 8->16 -> Relu -> Gemm 16->40 = output [1,40]: more outputs than the 30 an
aggregated proof shows, so its inferences are attested on chain by the commitment to all 40
(issue 17, finding 6). `input.json` is uniform in [-1, 1] (seed 40).
"""
    save("many_outputs", m, [inp], readme)
    return dict(acc=None, model=m)


def make_top_k():
    """TopK's values and indices as outputs, with ties among Relu's zeros."""
    rng = np.random.default_rng(16)
    g = G("top_k")
    h = g.op("Relu", [gemm(g, "input", rng.uniform(-0.5, 0.5, (10, 8)).astype(np.float32),
                           rng.uniform(-0.2, 0.2, 10).astype(np.float32), "fc")])  # fmt: skip
    g.op("TopK", [h, g.const("k", [8], np.int64)], out=["values", "indices"], axis=1, largest=1)
    outputs = [("values", [1, 8]), ("indices", [1, 8], TensorProto.INT64)]
    m = g.model([("input", [1, 8])], outputs, "TopK values and indices")
    inp = rng.uniform(-1, 1, (1, 8)).astype(np.float32)
    values, indices = ort_run(m, {"input": inp})
    # Distinct positive values far apart, so rounding cannot reorder them; the zeros tie.
    pos = np.sort(values[values > 0])
    assert len(pos) < 7 and np.all(np.diff(pos) > 0.02), values
    readme = f"""# top_k
Random weights (seed 16; not trained, outputs mean nothing). {n_params(m)} float parameters.

input [1,8] -> Gemm 8->10 -> Relu -> TopK (k 8, axis 1, largest) -> `values` float [1,8] and `indices`
int64 [1,8]. On `input.json` (uniform in [-1, 1], seed 16) {len(pos)} of the 10 Relu outputs are positive, so
the last {8 - len(pos)} of the eight are zeros that tie, and their indices follow the input order as ONNX
specifies (onnxruntime: {indices.reshape(-1).tolist()}).
"""
    save("top_k", m, [inp], readme)
    return dict(acc=None, model=m)


# Recurrent op-conformance models. The numpy references below follow the ONNX LSTM / GRU
# definitions (default activations, no peepholes, no clip; GRU linear_before_reset=0); they
# cross-check onnxruntime and report the largest gate pre-activation, which onnxruntime cannot
# expose (it is internal to the node) but which a fixed-point prover has to represent.
def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def lstm_ref(x, w, r, b, hidden):
    """x [T,1,I], w [1,4H,I], r [1,4H,H], b [1,8H] (gates i,o,f,c) -> (Y_h [1,1,H], max |pre-act, c|)."""
    w, r, b = w[0].astype(np.float64), r[0].astype(np.float64), b[0].astype(np.float64)
    bias = b[: 4 * hidden] + b[4 * hidden :]
    h = np.zeros(hidden)
    c = np.zeros(hidden)
    mx = 0.0
    for t in range(x.shape[0]):
        pre = w @ x[t, 0].astype(np.float64) + r @ h + bias
        i, o, f, g = (pre[k * hidden : (k + 1) * hidden] for k in range(4))
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        mx = max(mx, float(np.max(np.abs(pre))), float(np.max(np.abs(c))))
    return h.reshape(1, 1, hidden), mx


def gru_ref(x, w, r, b, hidden, reverse):
    """x [T,1,I], w [1,3H,I], r [1,3H,H], b [1,6H] (gates z,r,h) -> (Y_h [1,1,H], max |pre-act|)."""
    w, r, b = w[0].astype(np.float64), r[0].astype(np.float64), b[0].astype(np.float64)
    wb, rb = b[: 3 * hidden], b[3 * hidden :]
    H = slice(2 * hidden, 3 * hidden)
    h = np.zeros(hidden)
    mx = 0.0
    steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
    for t in steps:
        xw = w @ x[t, 0].astype(np.float64) + wb
        zr = xw[: 2 * hidden] + r[: 2 * hidden] @ h + rb[: 2 * hidden]
        z, rg = _sigmoid(zr[:hidden]), _sigmoid(zr[hidden:])
        hp = xw[H] + r[H] @ (rg * h) + rb[H]  # linear_before_reset = 0
        h = (1.0 - z) * np.tanh(hp) + z * h
        mx = max(mx, float(np.max(np.abs(zr))), float(np.max(np.abs(hp))))
    return h.reshape(1, 1, hidden), mx


def make_lstm_seq():
    rng = np.random.default_rng(15)
    T, I, H, O = 8, 4, 6, 3
    u = lambda *s: rng.uniform(-0.5, 0.5, s).astype(np.float32)  # noqa: E731
    w, r, b = u(1, 4 * H, I), u(1, 4 * H, H), u(1, 8 * H) * np.float32(0.5)
    g = G("lstm_seq")
    ins = [g.const("lstm.W", w), g.const("lstm.R", r), g.const("lstm.B", b)]
    g.n += 1
    g.nodes.append(helper.make_node("LSTM", ["input"] + ins, ["", "lstm_y_h"], name=f"LSTM_{g.n}",
                                    hidden_size=H, direction="forward"))  # fmt: skip  Y_h [1,1,6]
    x = g.op("Reshape", ["lstm_y_h", g.const("shape_1x6", [1, H], np.int64)])  # [1,6]
    fc_w, fc_b = rng.uniform(-1, 1, (O, H)).astype(np.float32), u(O)
    gemm(g, x, fc_w, fc_b, name="fc")
    g.nodes[-1].output[0] = "output"
    m = g.model([("input", [T, 1, I])], [("output", [1, O])], "op conformance: LSTM over 8 steps")
    inp = rng.uniform(-1, 1, (T, 1, I)).astype(np.float32)
    hr, mx = lstm_ref(inp, w, r, b, H)
    ref = hr.reshape(1, H) @ fc_w.T.astype(np.float64) + fc_b
    readme = f"""# lstm_seq
Op-conformance model for a recurrent layer (weights random, seed 15; not trained, outputs mean nothing). {n_params(m)} float parameters.

input [8,1,4] (sequence length 8, batch 1, 4 features; ONNX layout [seq, batch, input_size]) -> LSTM (hidden_size {H}, direction forward, W [1,24,4] and R [1,24,6] uniform in [-0.5, 0.5], B [1,48] uniform in [-0.25, 0.25]; default activations sigmoid/tanh/tanh, no peepholes, no sequence_lens, no initial state; only output Y_h, the hidden state after the last step, is used; Y is left unnamed) [1,1,6] -> Reshape [1,6] -> Gemm 6->3 (weight uniform in [-1, 1], bias in [-0.5, 0.5]) -> output [1,3].

On `input.json` the largest gate pre-activation or cell-state magnitude over all 8 steps is {mx:.3f} (numpy float64 reference of the ONNX LSTM equations, which also agrees with onnxruntime's output).

`input.json` is uniform in [-1, 1] (seed 15); `float_output` is onnxruntime's output for it.
"""
    outs = save("lstm_seq", m, [inp], readme)
    assert np.allclose(outs[0], ref, atol=1e-5), (outs[0], ref)
    print(f"lstm_seq: max |gate pre-activation, cell| {mx:.3f}; onnxruntime vs numpy {np.max(np.abs(outs[0] - ref)):.2e}")
    return dict(acc=None, model=m)


def make_gru_seq():
    rng = np.random.default_rng(16)
    T, I, H, O = 8, 4, 5, 2
    u = lambda *s: rng.uniform(-0.5, 0.5, s).astype(np.float32)  # noqa: E731
    w, r, b = u(1, 3 * H, I), u(1, 3 * H, H), u(1, 6 * H) * np.float32(0.5)
    g = G("gru_seq")
    ins = [g.const("gru.W", w), g.const("gru.R", r), g.const("gru.B", b)]
    g.n += 1
    g.nodes.append(helper.make_node("GRU", ["input"] + ins, ["", "gru_y_h"], name=f"GRU_{g.n}",
                                    hidden_size=H, direction="reverse"))  # fmt: skip  Y_h [1,1,5]
    x = g.op("Reshape", ["gru_y_h", g.const("shape_1x5", [1, H], np.int64)])  # [1,5]
    mm_w, add_b = rng.uniform(-1, 1, (H, O)).astype(np.float32), u(O)
    x = g.op("MatMul", [x, g.const("mm.weight", mm_w)])  # [1,2]
    g.op("Add", [x, g.const("add.bias", add_b)], out="output")
    m = g.model([("input", [T, 1, I])], [("output", [1, O])], "op conformance: reverse GRU over 8 steps")
    inp = rng.uniform(-1, 1, (T, 1, I)).astype(np.float32)
    hr, mx = gru_ref(inp, w, r, b, H, reverse=True)
    ref = hr.reshape(1, H) @ mm_w.astype(np.float64) + add_b
    readme = f"""# gru_seq
Op-conformance model for a recurrent layer (weights random, seed 16; not trained, outputs mean nothing). {n_params(m)} float parameters.

input [8,1,4] (sequence length 8, batch 1, 4 features; ONNX layout [seq, batch, input_size]) -> GRU (hidden_size {H}, direction reverse: steps run from t=7 down to t=0; W [1,15,4] and R [1,15,5] uniform in [-0.5, 0.5], B [1,30] uniform in [-0.25, 0.25]; default activations sigmoid/tanh, linear_before_reset 0, no sequence_lens, no initial state; only output Y_h, the hidden state after the last processed step (t=0), is used; Y is left unnamed) [1,1,5] -> Reshape [1,5] -> MatMul with constant [5,2] (uniform in [-1, 1]) -> Add constant [2] (uniform in [-0.5, 0.5]) -> output [1,2].

On `input.json` the largest gate pre-activation magnitude over all 8 steps is {mx:.3f} (numpy float64 reference of the ONNX GRU equations, which also agrees with onnxruntime's output).

`input.json` is uniform in [-1, 1] (seed 16); `float_output` is onnxruntime's output for it.
"""
    outs = save("gru_seq", m, [inp], readme)
    assert np.allclose(outs[0], ref, atol=1e-5), (outs[0], ref)
    print(f"gru_seq: max |gate pre-activation| {mx:.3f}; onnxruntime vs numpy {np.max(np.abs(outs[0] - ref)):.2e}")
    return dict(acc=None, model=m)


# ----------------------------------------------------------------------------------------------
# checks
# ----------------------------------------------------------------------------------------------
def intermediate_max_abs(model, feeds):
    """Max |value| over every node output (and the input), via onnxruntime."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    for n in m.graph.node:
        for o in n.output:
            if o and o not in have:  # "" = an optional output left unused (LSTM/GRU Y)
                m.graph.output.append(helper.make_empty_tensor_value_info(o))
    outs = ort_run(m, feeds)
    return max(float(np.max(np.abs(v))) for v in list(outs) + list(feeds.values()))


def check_all(names, data=None):
    ok = True
    rows = []
    for name in names:
        d = MODELS / name
        model = onnx.load(str(d / "network.onnx"))
        onnx.checker.check_model(model, full_check=True)
        doc = json.loads((d / "input.json").read_text())
        ins = model.graph.input
        assert len(doc["input_data"]) == len(ins) == len(doc["input_shapes"])
        feeds = {i.name: np.array(v, np.float32).reshape(s) for i, v, s in zip(ins, doc["input_data"], doc["input_shapes"])}
        outs = ort_run(model, feeds)
        diff = max(float(np.max(np.abs(o.reshape(-1) - np.array(f, np.float32)))) for o, f in zip(outs, doc["float_output"]))
        mx = intermediate_max_abs(model, feeds)
        ops = sorted({n.op_type for n in model.graph.node})
        # float_output was written by onnxruntime itself; allow for other CPUs' SIMD summation order
        good = all(np.allclose(o.reshape(-1), np.array(f, np.float32), rtol=1e-5, atol=1e-5) for o, f in zip(outs, doc["float_output"]))
        ok &= good
        rows.append((name, [list(s) for s in doc["input_shapes"]], [list(o.shape) for o in outs], n_params(model), mx, diff, ops))
        print(f"check {name:11s} in={doc['input_shapes']} out={[list(o.shape) for o in outs]} params={n_params(model)} "
              f"max|act|={mx:.3f} float_output diff={diff:.2e} {'OK' if good else 'MISMATCH'} ops={ops}")  # fmt: skip
    return ok, rows


MAKERS = {
    "digits_mlp": lambda data: make_digits_mlp(data),
    "digits_cnn": lambda data: make_digits_cnn(data),
    "wide_mlp": lambda data: make_wide_mlp(data),
    "lenet5": lambda data: make_lenet5(data),
    "ops_mix": lambda data: make_ops_mix(),
    "ops_mix2": lambda data: make_ops_mix2(),
    "lstm_seq": lambda data: make_lstm_seq(),
    "gru_seq": lambda data: make_gru_seq(),
    "many_outputs": lambda data: make_many_outputs(),
    "top_k": lambda data: make_top_k(),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only check the existing models")
    ap.add_argument("models", nargs="*", help=f"subset of {list(MAKERS)}")
    args = ap.parse_args()
    names = args.models or list(MAKERS)
    unknown = [n for n in names if n not in MAKERS]
    if unknown:
        sys.exit(f"unknown model(s): {unknown}")
    if not args.check:
        data = digits_split()
        for n in names:
            MAKERS[n](data)
    ok, _ = check_all(names)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
