//! Quantization against float: per op family, random models and inputs over the range
//! calibration saw, error within what the scales allow.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::calibrate::calibrate;
use super::scales::ValueRanges;
use super::{quantize, quantize_with_ranges, QKind, QModel, QuantSettings};
use crate::error::ProverError;
use crate::model::graph::{
    Activation, Graph, Node, NodeKind, OutputTensor, SparseRows, Src, TensorInfo, ValueId,
};

const SETTINGS: QuantSettings = QuantSettings::narrow(8, 12);
const HEADROOM: f64 = 2.0;

fn v(i: u32) -> Src {
    Src::Value(i)
}

/// `n` inputs and one node whose outputs are the model's outputs.
fn one_node(n: usize, kind: NodeKind) -> Graph {
    let len = kind.len();
    Graph {
        inputs: vec![TensorInfo { name: "x".into(), shape: vec![n], ..Default::default() }],
        nodes: vec![Node { name: "op".into(), op: "Op".into(), first: n as ValueId, kind }],
        outputs: vec![OutputTensor {
            info: TensorInfo { name: "y".into(), shape: vec![len], ..Default::default() },
            srcs: (n as u32..(n + len) as u32).map(v).collect(),
        }],
        index_checks: Vec::new(),
    }
}

/// As `compile` does: the input scale calibrated, every node at its own.
fn calibrated(g: &Graph, samples: &[Vec<Vec<f64>>]) -> QModel {
    calibrated_as(g, samples, false)
}

/// [`calibrated`] with narrow or wide values.
fn calibrated_as(g: &Graph, samples: &[Vec<Vec<f64>>], wide: bool) -> QModel {
    let c = calibrate(g, samples, SETTINGS.lookup_bits, wide, HEADROOM).expect("calibrate");
    assert_eq!(c.settings.wide, wide);
    let ranges = ValueRanges::measure(g, samples).expect("ranges");
    quantize_with_ranges(g, c.settings, &ranges, HEADROOM).expect("quantize")
}

fn run(q: &QModel, inputs: &[Vec<f64>]) -> Vec<f64> {
    let t = q.eval(&q.quantize_inputs(inputs).expect("inputs in range")).expect("eval");
    q.outputs_f64(&t).concat()
}

/// Random inputs of magnitude up to `amp`: the first `samples` calibrate, the rest test.
fn inputs(rng: &mut ChaCha8Rng, n: usize, amp: f64, count: usize) -> Vec<Vec<Vec<f64>>> {
    (0..count).map(|_| vec![(0..n).map(|_| rng.gen_range(-amp..amp)).collect()]).collect()
}

/// The input quantization error, the largest a value read from an input may be off by.
fn input_err(q: &QModel) -> f64 {
    0.5 / (1u64 << q.settings.scale_bits) as f64
}

/// One output step, plus what a bias rounded at a finer scale may add to it.
fn step(q: &QModel) -> f64 {
    1.001 / (1u64 << q.output_scale()) as f64
}

#[test]
fn linear_is_within_its_error_bound_over_the_calibrated_range() {
    linear_within_bound(false);
}

#[test]
fn wide_linear_is_within_its_error_bound_over_the_calibrated_range() {
    linear_within_bound(true);
}

fn linear_within_bound(wide: bool) {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for case in 0..40 {
        let n = rng.gen_range(1..40);
        let amp = 10f64.powf(rng.gen_range(-2.0..1.0));
        let wamp = 10f64.powf(rng.gen_range(-4.0..1.0));
        let mut rows = SparseRows::new();
        let mut bias = Vec::new();
        for _ in 0..rng.gen_range(1..6) {
            rows.push_row((0..n).map(|i| (v(i as u32), rng.gen_range(-wamp..wamp))));
            bias.push(rng.gen_range(-wamp..wamp));
        }
        let g = one_node(n, NodeKind::Linear { rows: rows.clone(), bias });
        let all = inputs(&mut rng, n, amp, 20);
        // Calibrated on every input: the property is about the representable range.
        let q = calibrated_as(&g, &all, wide);
        for x in &all {
            let want = g.gather_outputs(&g.eval_f64(x)).concat();
            let got = run(&q, x);
            for (j, (w, o)) in want.iter().zip(&got).enumerate() {
                let l1: f64 = rows.row(j).map(|(_, w)| w.abs()).sum();
                let bound = l1 * input_err(&q) + step(&q);
                assert!((w - o).abs() <= bound, "case {case} out {j}: {w} vs {o} (bound {bound})");
            }
        }
    }
}

#[test]
fn mul_is_within_its_error_bound_over_the_calibrated_range() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for case in 0..40 {
        let amp = 10f64.powf(rng.gen_range(-2.0..1.2));
        let g = one_node(4, NodeKind::Mul { a: vec![v(0), v(1)], b: vec![v(2), v(1)] });
        let all = inputs(&mut rng, 4, amp, 20);
        let q = calibrated(&g, &all);
        for x in &all {
            let want = g.gather_outputs(&g.eval_f64(x)).concat();
            let got = run(&q, x);
            let e = input_err(&q);
            for (j, (w, o)) in want.iter().zip(&got).enumerate() {
                let (a, b) = if j == 0 { (x[0][0], x[0][2]) } else { (x[0][1], x[0][1]) };
                let bound = (a.abs() + b.abs()) * e + e * e + step(&q);
                assert!((w - o).abs() <= bound, "case {case} out {j}: {w} vs {o} (bound {bound})");
            }
        }
    }
}

/// `x0 / (x2 + c)` and `x1 / (x3 + c)` with `c` keeping the denominators positive.
#[test]
fn div_is_within_its_error_bound_over_the_calibrated_range() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for case in 0..40 {
        let amp = 10f64.powf(rng.gen_range(-1.5..1.2));
        let c = amp * rng.gen_range(1.05..4.0);
        let mut rows = SparseRows::new();
        rows.push_row([(v(2), 1.0)]);
        rows.push_row([(v(3), 1.0)]);
        let mut g = one_node(4, NodeKind::Linear { rows, bias: vec![c, c] });
        g.nodes.push(Node {
            name: "div".into(),
            op: "Div".into(),
            first: 6,
            kind: NodeKind::Div { a: vec![v(0), v(1)], b: vec![v(4), v(5)] },
        });
        g.outputs[0].srcs = vec![v(6), v(7)];
        let all = inputs(&mut rng, 4, amp, 20);
        let q = calibrated(&g, &all);
        let b0 = q.nodes.iter().find_map(|n| match &n.kind {
            QKind::Div { b, .. } => match b[0] {
                Src::Value(id) => Some(id),
                Src::Zero => None,
            },
            _ => None,
        });
        let b0 = b0.expect("a division by a value");
        let b_step = 1.0 / (1u64 << q.scale_of(b0)) as f64;
        for x in &all {
            let want = g.gather_outputs(&g.eval_f64(x)).concat();
            let got = run(&q, x);
            let e = input_err(&q);
            for (j, (w, o)) in want.iter().zip(&got).enumerate() {
                let (a, d) = (x[0][j], x[0][j + 2] + c);
                let bound = e / d + a.abs() * (e + b_step) / (d * (d - e - b_step)) + step(&q);
                assert!((w - o).abs() <= bound, "case {case} out {j}: {w} vs {o} (bound {bound})");
            }
        }
    }
}

#[test]
fn division_by_a_non_positive_value_is_a_named_error() {
    let mut rows = SparseRows::new();
    rows.push_row([(v(1), 1.0)]);
    let mut g = one_node(2, NodeKind::Linear { rows, bias: vec![0.0] });
    g.nodes.push(Node {
        name: "div".into(),
        op: "Div".into(),
        first: 3,
        kind: NodeKind::Div { a: vec![v(0)], b: vec![v(2)] },
    });
    g.outputs[0].srcs = vec![v(3)];
    let q = calibrated(&g, &[vec![vec![1.0, 2.0]], vec![vec![-1.0, 0.5]]]);
    assert!(run(&q, &[vec![1.0, 1.0]]).iter().all(|y| (y - 1.0).abs() < 0.01));
    for bad in [0.0, -0.5] {
        match q.eval(&q.quantize_inputs(&[vec![1.0, bad]]).expect("inputs")) {
            Err(ProverError::OutOfDomain { node, function, value, .. }) => {
                assert_eq!(node, "div");
                assert!(function.contains("denominator"), "{function}");
                assert_eq!(value, bad);
            }
            other => panic!("1 / {bad}: {other:?}"),
        }
    }
}

#[test]
fn sigmoid_and_max_are_within_their_error_bounds() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for case in 0..20 {
        let amp = 10f64.powf(rng.gen_range(-1.0..0.9));
        let sig =
            one_node(3, NodeKind::Act { input: vec![v(0), v(1), v(2)], act: Activation::Sigmoid });
        let windows = vec![vec![v(0), v(1), v(2)], vec![v(2), Src::Zero]];
        let max = one_node(3, NodeKind::Max { windows });
        let all = inputs(&mut rng, 3, amp, 20);
        for (g, slope) in [(sig, 0.25), (max, 1.0)] {
            let q = calibrated(&g, &all);
            for x in &all {
                let want = g.gather_outputs(&g.eval_f64(x)).concat();
                for (w, o) in want.iter().zip(run(&q, x)) {
                    let bound = slope * input_err(&q) + step(&q);
                    assert!((w - o).abs() <= bound, "case {case}: {w} vs {o} (bound {bound})");
                }
            }
        }
    }
}

/// `x / 10000` on 0/1 inputs (the shared `1l_tiny_div` case): at one global scale the
/// outputs round to 0; at their own scale they keep their leading digits.
#[test]
fn tiny_outputs_keep_their_leading_digits() {
    let mut rows = SparseRows::new();
    for i in 0..4 {
        rows.push_row([(v(i), 1e-4)]);
    }
    let g = one_node(4, NodeKind::Linear { rows, bias: vec![0.0; 4] });
    let x = vec![vec![1.0, 0.0, 1.0, 1.0]];
    let global = quantize(&g, SETTINGS).expect("quantize");
    assert_eq!(run(&global, &x), vec![0.0; 4], "the case this guards against");
    let q = calibrated(&g, std::slice::from_ref(&x));
    for (want, got) in [1e-4, 0.0, 1e-4, 1e-4].iter().zip(run(&q, &x)) {
        assert!((want - got).abs() <= 5e-3 * 1e-4, "{want} vs {got}");
    }
}

/// Branches at different scales meeting in a max and in the outputs get aligned.
#[test]
fn operands_at_different_scales_are_aligned() {
    let branch = |first: u32, x: u32, w: f64| Node {
        name: format!("branch{x}"),
        op: "Gemm".into(),
        first,
        kind: NodeKind::Linear {
            rows: {
                let mut rows = SparseRows::new();
                rows.push_row([(v(x), w)]);
                rows
            },
            bias: vec![0.0],
        },
    };
    let g = Graph {
        inputs: vec![TensorInfo { name: "x".into(), shape: vec![2], ..Default::default() }],
        nodes: vec![
            branch(2, 0, 30.0),
            branch(3, 1, 0.01),
            Node {
                name: "max".into(),
                op: "Max".into(),
                first: 4,
                kind: NodeKind::Max { windows: vec![vec![v(2), v(3)]] },
            },
        ],
        outputs: vec![OutputTensor {
            info: TensorInfo { name: "y".into(), shape: vec![2], ..Default::default() },
            srcs: vec![v(4), v(3)],
        }],
        index_checks: Vec::new(),
    };
    let samples = vec![vec![vec![0.5, -0.7]], vec![vec![-0.01, 0.9]]];
    let q = calibrated(&g, &samples);
    assert_ne!(q.nodes[0].scale, q.nodes[1].scale, "{:?}", q.nodes);
    assert!(q.nodes.iter().any(|n| n.op == "Rescale"), "{:?}", q.nodes);
    for x in &samples {
        let want = g.gather_outputs(&g.eval_f64(x)).concat();
        for (w, o) in want.iter().zip(run(&q, x)) {
            assert!((w - o).abs() <= 30.0 * input_err(&q) + step(&q), "{w} vs {o}");
        }
    }
}

/// An input beyond what calibration saw: a named error at the node, never a saturated value.
#[test]
fn values_beyond_the_calibrated_range_are_named_errors() {
    let mut rows = SparseRows::new();
    rows.push_row([(v(0), 3.0), (v(1), 2.0)]);
    let lin = one_node(2, NodeKind::Linear { rows, bias: vec![0.0] });
    let mul = one_node(2, NodeKind::Mul { a: vec![v(0)], b: vec![v(1)] });
    let max = one_node(2, NodeKind::Max { windows: vec![vec![v(0), v(1)]] });
    // (An activation node reads values already in range at its own scale: it cannot leave.)
    for (what, g, big) in [
        ("linear", lin, vec![vec![0.5, 0.0]]),
        ("mul", mul, vec![vec![0.5, 0.5]]),
        ("max", max, vec![vec![-1.5, 1.5]]),
    ] {
        let q = calibrated(&g, &[vec![vec![0.001, 0.002]]]);
        let inputs_q = q.quantize_inputs(&big).expect("inputs fit");
        match q.eval(&inputs_q) {
            Err(ProverError::OutOfRange { node, op, value, bound, .. }) => {
                assert_eq!(node, "op", "{what}");
                assert_eq!(op, "Op", "{what}");
                assert!(value.abs() >= bound, "{what}: {value} within ±{bound}");
            }
            other => panic!("{what}: expected a range error, got {other:?}"),
        }
    }
}

/// Outputs that are inputs passed through (a reshape) are read at the inputs' own scale:
/// with wide values an input may be finer than `settings.scale_bits`, and reading it at the
/// settings' scale would state outputs 2^(difference) too large, in the report and in the
/// last shard's descriptor (a proof of a wrong answer).
#[test]
fn outputs_that_are_inputs_keep_the_inputs_scale() {
    let g = Graph {
        inputs: vec![TensorInfo { name: "x".into(), shape: vec![3], ..Default::default() }],
        nodes: vec![],
        outputs: vec![OutputTensor {
            info: TensorInfo { name: "y".into(), shape: vec![3], ..Default::default() },
            srcs: (0..3).map(v).collect(),
        }],
        index_checks: Vec::new(),
    };
    let x = vec![vec![0.066, -0.093, 0.0225]];
    for wide in [false, true] {
        let q = calibrated_as(&g, std::slice::from_ref(&x), wide);
        if wide {
            // The case in question: the input finer than the settings' scale.
            assert!(q.input_scale(0) > q.settings.scale_bits, "{:?}", q.input_scales);
        }
        let got = run(&q, &x);
        let err = got.iter().zip(&x[0]).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(err <= step(&q), "wide {wide}: {got:?} vs {:?} (scale {})", x[0], q.output_scale());
        assert_eq!(q.output_scale(), q.input_scale(0), "wide {wide}");
    }
}

#[test]
fn one_global_scale_without_ranges_is_unchanged() {
    let mut rows = SparseRows::new();
    rows.push_row([(v(0), 0.5), (v(1), 1.0)]);
    let g = one_node(2, NodeKind::Linear { rows, bias: vec![0.25] });
    let q = quantize(&g, SETTINGS).expect("quantize");
    assert!(q.nodes.iter().all(|n| n.scale == SETTINGS.scale_bits));
    let QKind::Linear { shift, .. } = &q.nodes[0].kind else { panic!("linear") };
    // L - 1 + log2(2 terms).
    assert_eq!(*shift, 12);
}

/// Raw features of very different magnitudes (a scikit-learn pipeline's inputs before its
/// scaler): no single input scale fits 480 and keeps 0.004 in 12-bit lookups; each input then takes its own,
/// and the standardized features stay accurate. Inputs that fit keep one scale.
#[test]
fn inputs_too_wide_for_one_scale_each_take_their_own() {
    let mut rows = SparseRows::new();
    // (x - mean) / std per feature, as a Scaler computes it.
    rows.push_row([(v(0), 1.0 / 100.0)]);
    rows.push_row([(v(1), 1.0 / 0.002)]);
    let g = one_node(2, NodeKind::Linear { rows, bias: vec![-4.0, -2.0] });
    let samples: Vec<Vec<Vec<f64>>> =
        [(410.0, 0.0051), (330.0, 0.0032), (480.0, 0.0047)].map(|(a, b)| vec![vec![a, b]]).into();
    let q = calibrated(&g, &samples);
    assert_eq!(q.input_scales.len(), 2, "each input value has its scale");
    assert!(q.input_scale(0) < q.input_scale(1), "{:?}", q.input_scales);
    let bound = q.settings.bound() as f64;
    for (k, s) in samples.iter().enumerate() {
        let got = run(&q, s);
        let want = g.gather_outputs(&g.eval_f64(s)).concat();
        for (i, x) in s[0].iter().enumerate() {
            assert!(x.abs() * 2f64.powi(q.input_scale(i) as i32) < bound, "input {i} fits");
        }
        for (a, b) in got.iter().zip(&want) {
            // One input step of the small feature is 1/2^scale, times 1/0.002 downstream.
            let tol = 0.5 / 2f64.powi(q.input_scale(1) as i32) / 0.002 + step(&q);
            assert!((a - b).abs() <= tol, "sample {k}: {a} vs {b} (tolerance {tol})");
        }
    }
    // Inputs that fit at the calibrated scale: one scale, nothing recorded.
    let mut rows = SparseRows::new();
    rows.push_row([(v(0), 0.5), (v(1), 0.25)]);
    let g = one_node(2, NodeKind::Linear { rows, bias: vec![0.0] });
    let q = calibrated(&g, &[vec![vec![0.7, -0.4]], vec![vec![-0.2, 0.9]]]);
    assert!(q.input_scales.is_empty(), "{:?}", q.input_scales);
}

/// Each broken shape invariant of a quantized model is named, and the node with it; the
/// evaluator and the layout never see such a model (`CompiledModel::read` refuses it).
#[test]
fn malformed_models_are_named() {
    let g = one_node(
        4,
        NodeKind::Dot {
            a: vec![v(0), v(1), v(2), v(3)],
            b: vec![v(3), v(2), v(1), v(0)],
            terms: 2,
        },
    );
    let q = quantize(&g, SETTINGS).expect("quantize");
    q.check_wellformed().expect("a quantized model is well formed");
    let dot = q.nodes.iter().position(|n| matches!(n.kind, QKind::Dot { .. })).expect("a Dot");
    type Edit = fn(&mut QModel, usize);
    let edits: [(&str, Edit); 6] = [
        ("no terms", |q, i| {
            if let QKind::Dot { terms, .. } = &mut q.nodes[i].kind {
                *terms = 0;
            }
        }),
        ("3 left and 4 right", |q, i| {
            if let QKind::Dot { a, .. } = &mut q.nodes[i].kind {
                a.pop();
            }
        }),
        ("sums of 3 products", |q, i| {
            if let QKind::Dot { terms, .. } = &mut q.nodes[i].kind {
                *terms = 3;
            }
        }),
        ("not computed before it", |q, i| {
            let first = q.nodes[i].first;
            if let QKind::Dot { b, .. } = &mut q.nodes[i].kind {
                b[1] = Src::Value(first);
            }
        }),
        ("where 4 was next", |q, i| q.nodes[i].first += 1),
        ("outputs:", |q, _| q.outputs[0].srcs[0] = Src::Value(1_000)),
    ];
    for (want, edit) in edits {
        let mut bad = q.clone();
        edit(&mut bad, dot);
        match bad.check_wellformed() {
            Err(e) => assert!(e.contains(want), "{want}: {e}"),
            Ok(()) => panic!("{want}: a malformed model was accepted"),
        }
    }
}

/// A mean of 100 values between 15 and 88 (the shared `1l_mean` case): the sum is far
/// larger than any output, so with narrow values its scale is coarse; wide values prove the
/// sum at the inputs' own resolution.
#[test]
fn wide_sums_are_finer_than_narrow_ones() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let n = 100;
    let mut rows = SparseRows::new();
    rows.push_row((0..n).map(|i| (v(i as u32), 1.0 / n as f64)));
    let g = one_node(n, NodeKind::Linear { rows, bias: vec![0.0] });
    let samples: Vec<Vec<Vec<f64>>> =
        (0..4).map(|_| vec![(0..n).map(|_| rng.gen_range(15.0..88.0)).collect()]).collect();
    let err = |q: &QModel| {
        samples
            .iter()
            .map(|x| {
                let want = g.gather_outputs(&g.eval_f64(x)).concat();
                (want[0] - run(q, x)[0]).abs()
            })
            .fold(0.0f64, f64::max)
    };
    let narrow = calibrated_as(&g, &samples, false);
    let wide = calibrated_as(&g, &samples, true);
    assert!(wide.settings.scale_bits > narrow.settings.scale_bits, "{:?}", wide.settings);
    let (en, ew) = (err(&narrow), err(&wide));
    assert!(ew < en && ew <= 0.01, "wide {ew} vs narrow {en}");
}

/// Wide values beyond what calibration saw are named errors too, never saturated.
#[test]
fn wide_values_beyond_the_calibrated_range_are_named_errors() {
    let mut rows = SparseRows::new();
    rows.push_row([(v(0), 3.0), (v(1), 2.0)]);
    // (A ReLU of values in range stays in it.) A product of tiny samples gets the finest
    // scale a node may have, at which even the largest inputs' product fits: its case
    // calibrates on samples whose product sets the scale.
    for (what, kind, sample) in [
        ("linear", NodeKind::Linear { rows, bias: vec![0.0] }, [0.001, -0.002]),
        ("mul", NodeKind::Mul { a: vec![v(0)], b: vec![v(1)] }, [0.5, -0.7]),
        ("max", NodeKind::Max { windows: vec![vec![v(0), v(1)]] }, [0.001, -0.002]),
    ] {
        let g = one_node(2, kind);
        let q = calibrated_as(&g, &[vec![sample.to_vec()]], true);
        // Inputs at the edge of the value range: every node kind's result leaves it.
        let b = q.settings.value_bound();
        match q.eval(&[b - 1, -b]) {
            Err(ProverError::OutOfRange { node, value, bound, .. }) => {
                assert_eq!(node, "op", "{what}");
                assert!(value.abs() >= bound, "{what}: {value} within ±{bound}");
                // The value range, or a public output's slot where that is smaller.
                let shown = q.outputs.iter().map(|o| o.srcs.len()).sum::<usize>();
                let public = crate::circuit::instance::public_output_bound(shown) as i128;
                assert!(bound == b as i128 || bound == public, "{what}: bound {bound}");
            }
            other => panic!("{what}: expected a range error, got {other:?}"),
        }
    }
}

/// A gated layer, `tanh(Wx) * sigmoid(Vx)`, the shape of an LSTM step: narrow, the tables
/// read their inputs at the table's coarse scale; wide, the functions are interpolated at
/// twice its bits, so on the same lookup domain the error drops by well over an order.
#[test]
fn interpolated_functions_are_finer_than_narrow_tables() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let n = 6;
    let layer = |first: u32, act: Activation, rng: &mut ChaCha8Rng| {
        let mut rows = SparseRows::new();
        for _ in 0..n {
            rows.push_row((0..n).map(|i| (v(i as u32), rng.gen_range(-1.5..1.5))));
        }
        let bias = (0..n).map(|_| rng.gen_range(-0.5..0.5)).collect();
        [
            Node {
                name: format!("fc{first}"),
                op: "Gemm".into(),
                first,
                kind: NodeKind::Linear { rows, bias },
            },
            Node {
                name: format!("{act:?}"),
                op: format!("{act:?}"),
                first: first + n as u32,
                kind: NodeKind::Act { input: (first..first + n as u32).map(v).collect(), act },
            },
        ]
    };
    let mut nodes: Vec<Node> = layer(n as u32, Activation::Tanh, &mut rng).into();
    nodes.extend(layer(3 * n as u32, Activation::Sigmoid, &mut rng));
    let (t, g0) = (2 * n as u32, 4 * n as u32);
    nodes.push(Node {
        name: "gate".into(),
        op: "Mul".into(),
        first: 5 * n as u32,
        kind: NodeKind::Mul {
            a: (t..t + n as u32).map(v).collect(),
            b: (g0..g0 + n as u32).map(v).collect(),
        },
    });
    let g = Graph {
        inputs: vec![TensorInfo { name: "x".into(), shape: vec![n], ..Default::default() }],
        nodes,
        outputs: vec![OutputTensor {
            info: TensorInfo { name: "y".into(), shape: vec![n], ..Default::default() },
            srcs: (5 * n as u32..6 * n as u32).map(v).collect(),
        }],
        index_checks: Vec::new(),
    };
    let samples: Vec<Vec<Vec<f64>>> =
        (0..8).map(|_| vec![(0..n).map(|_| rng.gen_range(-1.0..1.0)).collect()]).collect();
    let err = |q: &QModel| {
        samples
            .iter()
            .flat_map(|x| {
                let want = g.gather_outputs(&g.eval_f64(x)).concat();
                let got = run(q, x);
                want.into_iter().zip(got).map(|(a, b)| (a - b).abs()).collect::<Vec<_>>()
            })
            .fold(0.0f64, f64::max)
    };
    let narrow = calibrated_as(&g, &samples, false);
    let wide = calibrated_as(&g, &samples, true);
    assert!(wide.settings.interpolates(Activation::Tanh));
    let (en, ew) = (err(&narrow), err(&wide));
    assert!(ew * 10.0 < en, "wide {ew} vs narrow {en}");
}

/// With wide values a leaky ReLU reads no table: `alpha x + (1 - alpha) relu(x)`, the ReLU by
/// the value's sign, so values far outside the lookup domain keep their fine scale.
#[test]
fn wide_leaky_relu_is_a_relu_by_sign_and_a_linear_row() {
    let n = 8;
    let alpha = 0.1f32;
    let g = one_node(
        n,
        NodeKind::Act {
            input: (0..n as u32).map(v).collect(),
            act: Activation::LeakyRelu { alpha },
        },
    );
    let samples = vec![vec![vec![-300.0, -2.5, -0.013, 0.0, 0.007, 1.0, 42.0, 250.0]]];
    let q = calibrated_as(&g, &samples, true);
    assert!(q
        .nodes
        .iter()
        .all(|n| !matches!(n.kind.activation(), Some(Activation::LeakyRelu { .. }))));
    let want = g.gather_outputs(&g.eval_f64(&samples[0])).concat();
    let got = run(&q, &samples[0]);
    // Half an output step, and the inputs' own rounding.
    let tol = 1.0 / (1u64 << q.output_scale()) as f64
        + 0.5 / (1u64 << (0..n).map(|i| q.input_scale(i)).min().unwrap_or(0)) as f64;
    for (w, g) in want.iter().zip(&got) {
        assert!((w - g).abs() <= tol, "{w} vs {g} (tolerance {tol})");
    }
    let narrow = calibrated_as(&g, &samples, false);
    assert!(narrow
        .nodes
        .iter()
        .any(|n| matches!(n.kind.activation(), Some(Activation::LeakyRelu { .. }))));
}

/// An interpolated exponential's outputs are wide values at `2^(2s)`: at the finest scales
/// that hold its inputs, `e^3.5` leaves the value range, and calibration goes on to a scale
/// that holds it instead of stopping at the first.
#[test]
fn wide_exponential_calibrates_to_a_scale_its_outputs_fit() {
    let g = one_node(2, NodeKind::Act { input: vec![v(0), v(1)], act: Activation::Exp });
    let samples = vec![vec![vec![3.5, -2.0]]];
    let st = |scale_bits| QuantSettings { scale_bits, lookup_bits: 12, wide: true };
    // The inputs fit at 2^8 with the headroom; e^3.5 = 33.1 does not fit 2^(12 + 8 - 1) at 2^16.
    let x = (3.5 * 256.0 * 256.0) as i64;
    assert!(matches!(
        super::semantics::interpolate(Activation::Exp, x, &st(8)),
        Err(super::semantics::Reject::Domain(_))
    ));
    let c = calibrate(&g, &samples, 12, true, HEADROOM).expect("a coarser scale holds e^3.5");
    assert!(c.settings.scale_bits < 8, "{:?}", c.settings);
    assert!(c.accuracy.max_abs_error < 33.1 * 1e-3, "{:?}", c.accuracy);
    // ln of a negative number is outside its domain at every scale: that error, named.
    let ln = one_node(1, NodeKind::Act { input: vec![v(0)], act: Activation::Ln });
    match calibrate(&ln, &[vec![vec![-1.0]]], 12, true, HEADROOM) {
        Err(ProverError::OutOfDomain { function, .. }) => assert_eq!(function, "Ln"),
        other => panic!("{other:?}"),
    }
}
