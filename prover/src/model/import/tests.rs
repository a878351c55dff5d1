//! Import tests: the model corpora against tract's float output, and small hand-built ONNX
//! models for the ops and variants the corpora do not reach.

use std::path::{Path, PathBuf};

use super::*;
use crate::model::graph::{Activation, NodeKind, Src};

mod onnx_builder;

use onnx_builder::{float, floats, int, ints, string, strings, values, OnnxBuilder};

/// Shared models expected to be rejected, with the op that is missing. None so far.
const EXPECTED_UNSUPPORTED: &[(&str, &str)] = &[];

/// Model folders of the shared corpus (`../shared/models`) and of this repository (`models/`).
fn model_dirs() -> Vec<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = Vec::new();
    let shared = zkattest_testkit::shared_dir("models");
    for root in shared.into_iter().chain([manifest.join("../models")]) {
        let entries = std::fs::read_dir(&root)
            .unwrap_or_else(|e| panic!("test input {}: {e}", root.display()));
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("network.onnx").is_file() && p.join("input.json").is_file())
            .collect();
        found.sort();
        dirs.extend(found);
    }
    dirs
}

fn model_name(dir: &Path) -> String {
    dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Max error of `got` against `want`, relative for values above 1 in magnitude.
fn max_error(got: &[Vec<f64>], want: &[Vec<f32>]) -> f64 {
    assert_eq!(got.len(), want.len(), "number of outputs");
    let mut worst = 0.0f64;
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.len(), w.len(), "output length");
        for (&g, &w) in g.iter().zip(w) {
            let w = f64::from(w);
            worst = worst.max((g - w).abs() / w.abs().max(1.0));
        }
    }
    worst
}

/// Parses a hand-built model with tract.
fn parse(proto: &tract_onnx::pb::ModelProto) -> InferenceModel {
    tract_onnx::onnx().model_for_proto_model(proto).expect("valid test model")
}

/// Imports a hand-built model with the given input shape.
fn import_proto(proto: &tract_onnx::pb::ModelProto, shape: &[usize]) -> Result<Graph> {
    import_model(parse(proto), Some(&[shape.to_vec()]), Path::new("test.onnx"))
}

/// Pseudo-random inputs of one tensor.
fn sample_input(shape: &[usize], seed: u64) -> InputData {
    let n = shape.iter().product();
    InputData {
        values: vec![values(n, seed).into_iter().map(f64::from).collect()],
        shapes: Some(vec![shape.to_vec()]),
    }
}

/// Imports a hand-built model, checks it against tract on random inputs, returns the graph.
fn assert_matches_tract(proto: &tract_onnx::pb::ModelProto, shape: &[usize]) -> Graph {
    let graph = import_proto(proto, shape).unwrap_or_else(|e| panic!("import: {e}"));
    for seed in 1..=3 {
        let inputs = sample_input(shape, seed);
        let want = run_float(parse(proto), &inputs, Path::new("test.onnx")).expect("tract run");
        let got = graph.gather_outputs(&graph.eval_f64(&inputs.values));
        let err = max_error(&got, &want);
        assert!(err <= 1e-5, "max error {err} against tract (seed {seed})");
    }
    graph
}

/// The `UnsupportedOp` parts of an import error.
fn unsupported(result: Result<Graph>) -> (String, String, String) {
    match result {
        Err(ProverError::UnsupportedOp { op, node, reason }) => (op, node, reason),
        other => panic!("expected UnsupportedOp, got {other:?}"),
    }
}

fn count_kinds(graph: &Graph) -> String {
    let mut counts = [0usize; 5];
    // Integer divisions count with divisions.
    for n in &graph.nodes {
        let k = match n.kind {
            NodeKind::Linear { .. } => 0,
            NodeKind::Mul { .. } | NodeKind::Dot { .. } => 1,
            NodeKind::Act { .. } => 2,
            NodeKind::Max { .. } => 3,
            NodeKind::Div { .. } | NodeKind::IntDiv { .. } | NodeKind::IntDivBy { .. } => 4,
        };
        counts[k] += 1;
    }
    let [l, m, a, x, d] = counts;
    if d == 0 {
        format!("linear {l} mul {m} act {a} max {x}")
    } else {
        format!("linear {l} mul {m} act {a} max {x} div {d}")
    }
}

/// Every corpus model imports and matches tract's float output to 1e-4, or is a listed
/// unsupported model that fails with `UnsupportedOp`. Run with `--nocapture` for the table
/// (MACs per model, handy for shard planning).
#[test]
fn test_corpus_models_match_tract() {
    let dirs = model_dirs();
    println!("{:<24} {:>10} {:>8} {:>6}  nodes", "model", "max err", "MACs", "values");
    for dir in &dirs {
        let name = model_name(dir);
        let onnx = dir.join("network.onnx");
        let inputs = InputData::from_file(dir.join("input.json")).expect("input.json");
        let result = import_onnx(&onnx, inputs.shapes.as_deref());
        if let Some((_, op)) = EXPECTED_UNSUPPORTED.iter().find(|(m, _)| *m == name) {
            match result {
                Err(ProverError::UnsupportedOp { op: got, .. }) => assert_eq!(&got, op, "{name}"),
                other => panic!("{name}: expected UnsupportedOp({op}), got {other:?}"),
            }
            println!("{name:<24} unsupported ({op})");
            continue;
        }
        let graph = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = tract_float_outputs(&onnx, &inputs).unwrap_or_else(|e| panic!("{name}: {e}"));
        let got = graph.gather_outputs(&graph.eval_f64(&inputs.values));
        let err = max_error(&got, &want);
        println!(
            "{name:<24} {err:>10.2e} {:>8} {:>6}  {} ({})",
            graph.macs(),
            graph.num_values(),
            graph.nodes.len(),
            count_kinds(&graph)
        );
        assert!(err <= 1e-4, "{name}: max error {err} against tract");
        if let Some(ort) = onnxruntime_output(dir) {
            // The bundled models carry onnxruntime's output: a check on tract as reference too.
            let err = max_error(&got, &ort);
            assert!(err <= 1e-4, "{name}: max error {err} against onnxruntime");
        }
    }
}

/// The `float_output` field some `input.json` files carry (onnxruntime's outputs).
fn onnxruntime_output(dir: &Path) -> Option<Vec<Vec<f32>>> {
    let text = std::fs::read_to_string(dir.join("input.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let field = json.get("float_output")?.clone();
    Some(serde_json::from_value(field).expect("float_output is a list of flat lists"))
}

#[test]
fn test_conv_variants_match_tract() {
    // Groups, stride, dilation and asymmetric padding on one conv, then SAME_UPPER padding.
    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[Some(1), Some(4), Some(7), Some(6)]);
    let w = m.weights(&[6, 2, 3, 2], values(72, 11));
    let b = m.weights(&[6], values(6, 12));
    let attrs = vec![
        ints("kernel_shape", &[3, 2]),
        ints("strides", &[2, 1]),
        ints("dilations", &[2, 1]),
        ints("pads", &[1, 0, 2, 1]),
        int("group", 2),
    ];
    let y = m.node("Conv", &[&x, &w, &b], attrs);
    let w2 = m.weights(&[3, 6, 2, 3], values(108, 13));
    let z = m.node(
        "Conv",
        &[&y, &w2],
        vec![string("auto_pad", "SAME_UPPER"), ints("strides", &[2, 2])],
    );
    m.output(&z);
    let graph = assert_matches_tract(&m.build(), &[1, 4, 7, 6]);
    assert!(graph.nodes.iter().all(|n| n.op == "Conv"), "{:?}", graph.nodes);
}

#[test]
fn test_pools_match_tract() {
    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[Some(1), Some(2), Some(7), Some(6)]);
    let max = m.node(
        "MaxPool",
        &[&x],
        vec![
            ints("kernel_shape", &[3, 3]),
            ints("strides", &[2, 2]),
            ints("pads", &[1, 1, 1, 1]),
            int("ceil_mode", 1),
        ],
    );
    let avg = m.node(
        "AveragePool",
        &[&x],
        vec![ints("kernel_shape", &[3, 2]), ints("strides", &[2, 1]), ints("pads", &[1, 0, 1, 1])],
    );
    let avg_pad = m.node(
        "AveragePool",
        &[&x],
        vec![
            ints("kernel_shape", &[2, 3]),
            ints("strides", &[2, 2]),
            ints("pads", &[1, 1, 0, 1]),
            int("count_include_pad", 1),
            int("ceil_mode", 1),
        ],
    );
    let global_max = m.node("GlobalMaxPool", &[&x], vec![]);
    for out in [&max, &avg, &avg_pad, &global_max] {
        m.output(out);
    }
    assert_matches_tract(&m.build(), &[1, 2, 7, 6]);
}

#[test]
fn test_elementwise_arithmetic_matches_tract() {
    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[Some(1), Some(3), Some(4)]);
    let c = m.weights(&[3, 1], values(3, 21));
    let c2 = m.weights(&[4], vec![0.5, -2.0, 1.5, 3.0]);
    let (lo, hi) = (m.weights(&[], vec![-0.3]), m.weights(&[], vec![0.4]));
    let a = m.node("Sub", &[&c, &x], vec![]); // constant - activation
    let d = m.node("Div", &[&a, &c2], vec![]); // activation / constant
    let e = m.node("Clip", &[&d, &lo, &hi], vec![]); // max and min against non-zero constants
    let f = m.node("Mul", &[&e, &x], vec![]); // product of two activations
    let g = m.node("Max", &[&f, &a], vec![]);
    let h = m.node("Min", &[&f, &x], vec![]);
    let k = m.node("Sub", &[&g, &h], vec![]);
    let doubled = m.node("Add", &[&k, &k], vec![]); // same operand twice: one merged term
    let sq = m.node("Mul", &[&doubled, &doubled], vec![]);
    m.output(&sq);
    let graph = assert_matches_tract(&m.build(), &[1, 3, 4]);
    let kinds = count_kinds(&graph);
    assert!(kinds.contains("mul 2"), "{kinds}");
}

#[test]
fn test_reductions_match_tract() {
    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[Some(1), Some(3), Some(4)]);
    let axes = m.ints(&[1], vec![2]);
    let sum = m.node("ReduceSum", &[&x, &axes], vec![int("keepdims", 0)]);
    let mean = m.node("ReduceMean", &[&x], vec![ints("axes", &[1, 2])]);
    let max = m.node("ReduceMax", &[&x], vec![ints("axes", &[1])]);
    let min = m.node("ReduceMin", &[&x], vec![ints("axes", &[2]), int("keepdims", 0)]);
    for out in [&sum, &mean, &max, &min] {
        m.output(out);
    }
    assert_matches_tract(&m.build(), &[1, 3, 4]);
}

#[test]
fn test_data_movement_matches_tract() {
    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[Some(1), Some(3), Some(4)]);
    let t = m.node("Transpose", &[&x], vec![ints("perm", &[0, 2, 1])]);
    let (starts, ends, axes, steps) = (
        m.ints(&[1], vec![1]),
        m.ints(&[1], vec![4]),
        m.ints(&[1], vec![1]),
        m.ints(&[1], vec![2]),
    );
    let s = m.node("Slice", &[&t, &starts, &ends, &axes, &steps], vec![]);
    let zeros = m.weights(&[1, 2, 3], vec![0.0; 6]);
    let cat = m.node("Concat", &[&s, &zeros, &t], vec![int("axis", 1)]);
    let idx = m.ints(&[2], vec![2, 0]);
    let g = m.node("Gather", &[&x, &idx], vec![int("axis", 2)]);
    let reps = m.ints(&[3], vec![1, 2, 2]);
    let tile = m.node("Tile", &[&g, &reps], vec![]);
    let pads = m.ints(&[6], vec![0, 0, 1, 0, 0, 2]);
    let pad = m.node("Pad", &[&x, &pads], vec![string("mode", "reflect")]);
    let shape = m.ints(&[3], vec![2, 3, 4]);
    let expand = m.node("Expand", &[&x, &shape], vec![]);
    let flat = m.node("Flatten", &[&expand], vec![int("axis", 1)]);
    for out in [&cat, &tile, &pad, &flat] {
        m.output(out);
    }
    let graph = assert_matches_tract(&m.build(), &[1, 3, 4]);
    assert!(graph.nodes.is_empty(), "data movement emits no node: {:?}", graph.nodes);
    // The zero block of the concat is padding, not a value.
    assert_eq!(graph.outputs[0].srcs.iter().filter(|s| **s == Src::Zero).count(), 6);
}

#[test]
fn test_prelu_written_as_where_matches_tract() {
    // Where(x > 0, x, x * a), the orientation tract does not use for ONNX PRelu.
    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[Some(1), Some(3), Some(2)]);
    let zero = m.weights(&[], vec![0.0]);
    let slope = m.weights(&[3, 1], vec![0.1, -0.5, 2.0]);
    let test = m.node("Greater", &[&x, &zero], vec![]);
    let scaled = m.node("Mul", &[&x, &slope], vec![]);
    let y = m.node("Where", &[&test, &x, &scaled], vec![]);
    m.output(&y);
    let graph = assert_matches_tract(&m.build(), &[1, 3, 2]);
    assert_eq!(count_kinds(&graph), "linear 1 mul 0 act 1 max 0");
}

#[test]
fn test_batch_norm_folds_into_preceding_linear() {
    // Conv -> BN folds (tract already merges it); Relu -> BN leaves one Linear for Mul + Add.
    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[Some(1), Some(2), Some(3), Some(3)]);
    let w = m.weights(&[2, 2, 3, 3], values(36, 31));
    let y = m.node("Conv", &[&x, &w], vec![ints("pads", &[1, 1, 1, 1])]);
    let r = m.node("Relu", &[&y], vec![]);
    let bn: Vec<String> = [(2.0f32, 41), (0.5, 42), (0.1, 43), (1.5, 44)]
        .iter()
        .map(|&(base, seed)| {
            m.weights(&[2], values(2, seed).iter().map(|v| base + 0.2 * v).collect())
        })
        .collect();
    let z = m.node(
        "BatchNormalization",
        &[&r, &bn[0], &bn[1], &bn[2], &bn[3]],
        vec![float("epsilon", 1e-5)],
    );
    m.output(&z);
    let graph = assert_matches_tract(&m.build(), &[1, 2, 3, 3]);
    assert_eq!(count_kinds(&graph), "linear 2 mul 0 act 1 max 0", "{:?}", graph.nodes);
    assert_eq!(graph.nodes[0].op, "Conv");
}

#[test]
fn test_linear_with_two_readers_is_not_folded() {
    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[Some(1), Some(3)]);
    let w = m.weights(&[3, 2], values(6, 51));
    let c = m.weights(&[2], vec![1.0, -1.0]);
    let y = m.node("MatMul", &[&x, &w], vec![]);
    let a = m.node("Add", &[&y, &c], vec![]);
    let r = m.node("Relu", &[&y], vec![]);
    m.output(&a);
    m.output(&r);
    let graph = assert_matches_tract(&m.build(), &[1, 3]);
    assert_eq!(count_kinds(&graph), "linear 2 mul 0 act 1 max 0", "{:?}", graph.nodes);
}

#[test]
fn test_unsupported_op_names_op_and_node() {
    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[Some(1), Some(4)]);
    let r = m.node("Relu", &[&x], vec![]);
    let d = m.weights(&[4], vec![1.5, 2.0, 0.5, 3.0]);
    let s = m.node("Mod", &[&r, &d], vec![int("fmod", 1)]);
    m.output(&s);
    let (op, node, _) = unsupported(import_proto(&m.build(), &[1, 4]));
    assert!(op.contains("Rem") || op.contains("Mod"), "{op}");
    assert!(node.starts_with(&s), "{node}");
}

/// Issue 16: each ONNX op that lowers to a tabulated function, as one graph `Act` node (the
/// ones tract expands, Softplus and Elu, recognized in their expansion).
#[test]
fn test_tabulated_functions_match_tract() {
    for (op, attrs, act) in [
        ("Tanh", vec![], Activation::Tanh),
        ("Exp", vec![], Activation::Exp),
        ("Erf", vec![], Activation::Erf),
        ("Softplus", vec![], Activation::Softplus),
        ("Elu", vec![float("alpha", 0.7)], Activation::Elu { alpha: 0.7 }),
        ("Sigmoid", vec![], Activation::Sigmoid),
    ] {
        let mut m = OnnxBuilder::new(13);
        let x = m.input("x", &[Some(2), Some(5)]);
        let y = m.node(op, &[&x], attrs);
        m.output(&y);
        let g = assert_matches_tract(&m.build(), &[2, 5]);
        assert_eq!(count_kinds(&g), "linear 0 mul 0 act 1 max 0", "{op}");
        assert!(matches!(g.nodes[0].kind, NodeKind::Act { act: a, .. } if a == act), "{op}");
    }
}

/// `ln(|x| + 0.5)` and `sqrt(|x| + 0.5)`: Abs is a ReLU and a linear node, no table of its own.
#[test]
fn test_log_sqrt_and_abs_match_tract() {
    for op in ["Log", "Sqrt"] {
        let mut m = OnnxBuilder::new(13);
        let x = m.input("x", &[Some(1), Some(6)]);
        let a = m.node("Abs", &[&x], vec![]);
        let half = m.weights(&[1], vec![0.5]);
        let p = m.node("Add", &[&a, &half], vec![]);
        let y = m.node(op, &[&p], vec![]);
        m.output(&y);
        let g = assert_matches_tract(&m.build(), &[1, 6]);
        assert_eq!(count_kinds(&g), "linear 1 mul 0 act 2 max 0", "{op}");
    }
}

/// A model stored in doubles (input, weights, a cast) does not type in tract as it is; once
/// retyped to floats it imports and computes what its float twin computes.
#[test]
fn test_double_models_are_computed_as_floats() {
    let build = |elem: i32| {
        let mut m = OnnxBuilder::new(13);
        let x = m.input_of("x", &[Some(1), Some(4)], elem);
        let w = m.weights(&[4, 3], values(12, 5));
        let y = m.node("MatMul", &[&x, &w], vec![]);
        let c = m.node("Cast", &[&y], vec![int("to", i64::from(elem))]);
        let r = m.node("Relu", &[&c], vec![]);
        m.output(&r);
        let mut proto = m.build();
        for t in proto.graph.iter_mut().flat_map(|g| g.initializer.iter_mut()) {
            if elem == 11 {
                t.data_type = 11;
                t.raw_data =
                    t.float_data.drain(..).flat_map(|v| f64::from(v).to_le_bytes()).collect();
            }
        }
        proto
    };
    let (mut double, single) = (build(11), build(1));
    let shapes = [vec![1, 4]];
    let refused = import_model(parse(&double), Some(&shapes), Path::new("t.onnx"));
    assert!(matches!(refused, Err(ProverError::Onnx { .. })), "{refused:?}");
    super::doubles::rewrite(&mut double);
    let graph = import_model(parse(&double), Some(&shapes), Path::new("t.onnx")).expect("import");
    let inputs = sample_input(&[1, 4], 3);
    let want = run_float(parse(&single), &inputs, Path::new("t.onnx")).expect("tract run");
    let got = graph.gather_outputs(&graph.eval_f64(&inputs.values));
    assert!(max_error(&got, &want) <= 1e-6, "{got:?} vs {want:?}");
}

/// The trigonometric and hyperbolic functions, each one table; the inverse ones on inputs
/// inside their domains.
#[test]
fn test_trigonometric_functions_match_tract() {
    for op in
        ["Sin", "Cos", "Tan", "Atan", "Sinh", "Cosh", "Asinh", "Asin", "Acos", "Atanh", "Acosh"]
    {
        let mut m = OnnxBuilder::new(13);
        let x = m.input("x", &[Some(1), Some(6)]);
        // Inside (-1, 1) for the inverse sine, cosine and tangent; at least 1 for acosh.
        let arg = match op {
            "Asin" | "Acos" | "Atanh" => {
                let t = m.node("Tanh", &[&x], vec![]);
                let k = m.weights(&[1], vec![0.9]);
                m.node("Mul", &[&t, &k], vec![])
            }
            "Acosh" => {
                let a = m.node("Abs", &[&x], vec![]);
                let one = m.weights(&[1], vec![1.0]);
                m.node("Add", &[&a, &one], vec![])
            }
            _ => x,
        };
        let y = m.node(op, &[&arg], vec![]);
        m.output(&y);
        let g = assert_matches_tract(&m.build(), &[1, 6]);
        assert!(
            g.nodes
                .iter()
                .any(|n| matches!(n.kind, NodeKind::Act { act, .. } if format!("{act:?}") == op)),
            "{op}: {}",
            count_kinds(&g)
        );
    }
}

/// Triangles (`Trilu`, both halves, with an offset) and scatters with constant indices
/// (`ScatterElements`, `ScatterND`, updates from the input into constant data) only move
/// data; a scatter that reduces (add, mul, max, min) computes and matches tract.
#[test]
fn test_triangles_and_scatters_are_data_movement() {
    for (upper, k) in [(1, 0), (0, 1), (1, -1)] {
        let mut m = OnnxBuilder::new(14);
        let x = m.input("x", &[Some(3), Some(4)]);
        let k = m.ints(&[], vec![k]);
        let y = m.node("Trilu", &[&x, &k], vec![int("upper", upper)]);
        let r = m.node("Relu", &[&y], vec![]);
        m.output(&r);
        let g = assert_matches_tract(&m.build(), &[3, 4]);
        assert_eq!(count_kinds(&g), "linear 0 mul 0 act 1 max 0");
    }
    let scatters = |reduction: &str| {
        let mut m = OnnxBuilder::new(16);
        let x = m.input("x", &[Some(2), Some(3)]);
        let data = m.weights(&[2, 5], values(10, 4));
        let idx = m.ints(&[2, 3], vec![4, 0, 2, 1, 3, 0]);
        let attrs = vec![int("axis", 1), string("reduction", reduction)];
        let e = m.node("ScatterElements", &[&data, &idx, &x], attrs);
        let rows = m.ints(&[1, 1], vec![1]);
        let (start, end) = (m.ints(&[1], vec![0]), m.ints(&[1], vec![1]));
        let u = m.node("Slice", &[&e, &start, &end], vec![]);
        let nd = m.node("ScatterND", &[&e, &rows, &u], vec![string("reduction", reduction)]);
        m.output(&nd);
        m.build()
    };
    let g = assert_matches_tract(&scatters("none"), &[2, 3]);
    assert_eq!(count_kinds(&g), "linear 1 mul 0 act 0 max 0", "the constant data's biases");
    // Sums stay linear; products and extrema cost their gadget once per write.
    let add = count_kinds(&assert_matches_tract(&scatters("add"), &[2, 3]));
    assert!(add.ends_with("mul 0 act 0 max 0"), "add: {add}");
    let mul = count_kinds(&assert_matches_tract(&scatters("mul"), &[2, 3]));
    assert!(!mul.contains("mul 0"), "mul: {mul}");
    for reduction in ["max", "min"] {
        let counts = count_kinds(&assert_matches_tract(&scatters(reduction), &[2, 3]));
        assert!(!counts.contains("max 0"), "{reduction}: {counts}");
    }
}

/// Scatters that reduce, at constant indices (repeated ones fold every update into one
/// entry) and at indices from the input (repeated, negative), `ScatterElements` and
/// `ScatterND`: the float graph and the quantized model equal tract's result exactly.
#[test]
fn test_scatter_reductions_match_tract_at_constant_and_input_indices() {
    for reduction in ["add", "mul", "max", "min"] {
        let mut m = OnnxBuilder::new(16);
        let x = m.input("x", &[Some(2), Some(4)]);
        let u = m.input("u", &[Some(2), Some(3)]);
        let idx = m.ints(&[2, 3], vec![1, 3, 1, 0, 0, -1]);
        let attrs = vec![int("axis", 1), string("reduction", reduction)];
        let y = m.node("ScatterElements", &[&x, &idx, &u], attrs);
        m.output(&y);
        let proto = m.build();
        let shapes = [vec![2, 4], vec![2, 3]];
        let graph =
            import_model(parse(&proto), Some(&shapes), Path::new("t.onnx")).expect("import");
        let xs = vec![0.5, -1.0, 1.5, 2.0, -0.5, 0.0, 1.0, -2.0];
        for u in [[2.0, -1.0, 0.5, 1.5, -0.5, 2.0], [-1.0, -1.0, 2.0, 0.5, 0.5, -2.0]] {
            assert_exact_against_tract(&proto, &graph, &[xs.clone(), u.to_vec()]);
        }

        let mut m = OnnxBuilder::new(16);
        let x = m.input("x", &[Some(2), Some(4)]);
        let idx = m.input_of("idx", &[Some(2), Some(3)], 7);
        let u = m.input("u", &[Some(2), Some(3)]);
        let attrs = vec![int("axis", 1), string("reduction", reduction)];
        let y = m.node("ScatterElements", &[&x, &idx, &u], attrs);
        m.output(&y);
        let proto = m.build();
        let shapes = [vec![2, 4], vec![2, 3], vec![2, 3]];
        let graph =
            import_model(parse(&proto), Some(&shapes), Path::new("t.onnx")).expect("import");
        let u = vec![2.0, -1.0, 0.5, 1.5, -0.5, 2.0];
        for idx in [[1.0, 3.0, 1.0, 0.0, 0.0, -1.0], [2.0, 2.0, 2.0, -4.0, 3.0, 1.0]] {
            assert_exact_against_tract(&proto, &graph, &[xs.clone(), idx.to_vec(), u.clone()]);
        }

        let mut m = OnnxBuilder::new(16);
        let d = m.input("d", &[Some(3), Some(2)]);
        let rows = m.input_of("rows", &[Some(3), Some(1)], 7);
        let u = m.input("u", &[Some(3), Some(2)]);
        let y = m.node("ScatterND", &[&d, &rows, &u], vec![string("reduction", reduction)]);
        let fixed = m.ints(&[3, 1], vec![2, 0, 2]);
        let z = m.node("ScatterND", &[&d, &fixed, &u], vec![string("reduction", reduction)]);
        m.output(&y);
        m.output(&z);
        let proto = m.build();
        let shapes = [vec![3, 2], vec![3, 1], vec![3, 2]];
        let graph =
            import_model(parse(&proto), Some(&shapes), Path::new("t.onnx")).expect("import");
        let d = vec![0.5, -1.0, 1.5, 2.0, -0.5, 0.0];
        let u = vec![2.0, -1.0, 0.5, 1.5, -0.5, 2.0];
        for rows in [[2.0, 0.0, 2.0], [1.0, 1.0, 1.0]] {
            assert_exact_against_tract(&proto, &graph, &[d.clone(), rows.to_vec(), u.clone()]);
        }
    }
    // A constant index outside its axis has no result: an import error naming it.
    let mut m = OnnxBuilder::new(16);
    let x = m.input("x", &[Some(1), Some(4)]);
    let u = m.input("u", &[Some(1), Some(1)]);
    let idx = m.ints(&[1, 1], vec![4]);
    let attrs = vec![int("axis", 1), string("reduction", "add")];
    let y = m.node("ScatterElements", &[&x, &idx, &u], attrs);
    m.output(&y);
    let shapes = [vec![1, 4], vec![1, 1]];
    let (_, _, reason) =
        unsupported(import_model(parse(&m.build()), Some(&shapes), Path::new("t.onnx")));
    assert!(reason.contains("constant index 4 outside an axis of 4"), "{reason}");
}

/// The float graph and the quantized model (at `2^4`, exact for these small values) against
/// tract on one input set.
fn assert_exact_against_tract(proto: &tract_onnx::pb::ModelProto, graph: &Graph, x: &[Vec<f64>]) {
    let inputs = InputData { values: x.to_vec(), shapes: None };
    let want = run_float(parse(proto), &inputs, Path::new("t.onnx")).expect("tract run");
    let got = graph.gather_outputs(&graph.eval_f64(&inputs.values));
    assert!(max_error(&got, &want) == 0.0, "float graph at {x:?}: {got:?} vs {want:?}");
    assert!(max_error(&quantized_outputs(graph, x), &want) == 0.0, "quantized at {x:?}");
}

/// The quantized model's outputs at `2^4` (exact for small multiples of 1/16).
fn quantized_outputs(graph: &Graph, x: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let q = crate::quant::quantize(graph, crate::quant::QuantSettings::narrow(4, 12))
        .expect("quantize");
    let trace = q.eval(&q.quantize_inputs(x).expect("inputs")).expect("eval");
    q.outputs_f64(&trace)
}

/// Writes and reads at indices from the input: `ScatterElements`, `GatherND` (whole rows and
/// single elements) and `ScatterND`, with negative indices counted from the end and, for the
/// scatters, a repeated index keeping the last update as tract does.
#[test]
fn test_scatters_and_nd_gathers_at_input_indices_match_tract() {
    let mut m = OnnxBuilder::new(16);
    let x = m.input("x", &[Some(2), Some(5)]);
    let idx = m.input_of("idx", &[Some(2), Some(2)], 7);
    let u = m.input("u", &[Some(2), Some(2)]);
    let y = m.node("ScatterElements", &[&x, &idx, &u], vec![int("axis", 1)]);
    m.output(&y);
    let proto = m.build();
    let shapes = [vec![2, 5], vec![2, 2], vec![2, 2]];
    let graph = import_model(parse(&proto), Some(&shapes), Path::new("t.onnx")).expect("import");
    let data: Vec<f64> = (0..10).map(|i| f64::from(i) * 0.5 - 2.0).collect();
    for idx in [[0.0, 3.0, 4.0, 1.0], [-1.0, 2.0, -5.0, -2.0], [2.0, 2.0, 0.0, -5.0]] {
        assert_exact_against_tract(
            &proto,
            &graph,
            &[data.clone(), idx.to_vec(), vec![7.0, -3.5, 6.25, 1.0]],
        );
    }

    let mut m = OnnxBuilder::new(13);
    let d = m.input("d", &[Some(3), Some(4)]);
    let rows = m.input_of("rows", &[Some(2), Some(1)], 7);
    let cells = m.input_of("cells", &[Some(2), Some(2)], 7);
    let g1 = m.node("GatherND", &[&d, &rows], vec![]);
    let g2 = m.node("GatherND", &[&d, &cells], vec![]);
    m.output(&g1);
    m.output(&g2);
    let proto = m.build();
    let shapes = [vec![3, 4], vec![2, 1], vec![2, 2]];
    let graph = import_model(parse(&proto), Some(&shapes), Path::new("t.onnx")).expect("import");
    let data: Vec<f64> = (0..12).map(|i| f64::from(i) * 0.25 - 1.0).collect();
    let x = [data.clone(), vec![2.0, 0.0], vec![1.0, 3.0, 0.0, 0.0]];
    assert_exact_against_tract(&proto, &graph, &x);
    // tract asserts non-negative GatherND indices; ONNX counts them from the end: rows 2 and
    // 0, cells (2, 3) and (2, 0).
    let x = [data.clone(), vec![-1.0, -3.0], vec![-1.0, -1.0, 2.0, -4.0]];
    let at = |i: usize| data[i];
    let mut rows: Vec<f64> = (8..12).map(at).collect();
    rows.extend((0..4).map(at));
    let want = vec![rows, vec![at(11), at(8)]];
    assert_eq!(graph.gather_outputs(&graph.eval_f64(&x)), want, "float graph");
    assert_eq!(quantized_outputs(&graph, &x), want, "quantized");

    let mut m = OnnxBuilder::new(16);
    let rows = m.input_of("rows", &[Some(2), Some(1)], 7);
    let u = m.input("u", &[Some(2), Some(3)]);
    let data = m.weights(&[4, 3], values(12, 8));
    let y = m.node("ScatterND", &[&data, &rows, &u], vec![]);
    let y = m.node("Relu", &[&y], vec![]);
    m.output(&y);
    let proto = m.build();
    let shapes = [vec![2, 1], vec![2, 3]];
    let graph = import_model(parse(&proto), Some(&shapes), Path::new("t.onnx")).expect("import");
    let u = vec![0.5, -1.0, 2.0, 1.5, 0.0, -0.25];
    for rows in [[3.0, 0.0], [2.0, 2.0]] {
        let inputs = InputData { values: vec![rows.to_vec(), u.clone()], shapes: None };
        let want = run_float(parse(&proto), &inputs, Path::new("t.onnx")).expect("tract run");
        let got = graph.gather_outputs(&graph.eval_f64(&inputs.values));
        assert!(max_error(&got, &want) < 1e-6, "{rows:?}: {got:?} vs {want:?}");
    }
    // tract refuses negative ScatterND indices; ONNX counts them from the end: rows 3 and 1.
    let mut want: Vec<f64> = values(12, 8).into_iter().map(f64::from).collect();
    want[9..12].copy_from_slice(&u[..3]);
    want[3..6].copy_from_slice(&u[3..]);
    let want: Vec<f64> = want.into_iter().map(|v| v.max(0.0)).collect();
    let got = graph.gather_outputs(&graph.eval_f64(&[vec![-1.0, 1.0], u.clone()]));
    assert!(got[0].iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-6), "{got:?} vs {want:?}");
}

/// `GatherND` with batch axes at index tuples from the input: each batch's tuples pick
/// rows (or single elements) of that batch's data only, as tract computes.
#[test]
fn test_nd_gathers_with_batch_axes_match_tract() {
    let mut m = OnnxBuilder::new(13);
    let d = m.input("d", &[Some(2), Some(3), Some(2)]);
    let rows = m.input_of("rows", &[Some(2), Some(2), Some(1)], 7);
    let cells = m.input_of("cells", &[Some(2), Some(2)], 7);
    let g1 = m.node("GatherND", &[&d, &rows], vec![int("batch_dims", 1)]);
    let g2 = m.node("GatherND", &[&d, &cells], vec![int("batch_dims", 1)]);
    m.output(&g1);
    m.output(&g2);
    let proto = m.build();
    let shapes = [vec![2, 3, 2], vec![2, 2, 1], vec![2, 2]];
    let graph = import_model(parse(&proto), Some(&shapes), Path::new("t.onnx")).expect("import");
    let data: Vec<f64> = (0..12).map(|i| f64::from(i) * 0.25 - 1.0).collect();
    for (rows, cells) in
        [([2.0, 0.0, 1.0, 1.0], [1.0, 0.0, 2.0, 1.0]), ([0.0, 1.0, 2.0, 0.0], [0.0, 1.0, 0.0, 0.0])]
    {
        let x = [data.clone(), rows.to_vec(), cells.to_vec()];
        assert_exact_against_tract(&proto, &graph, &x);
    }
    // Batch 1 reads batch 1's rows: rows [2] of batch 0 is data[4..6], of batch 1 data[10..12].
    let x = [data.clone(), vec![2.0, 2.0, 2.0, 2.0], vec![2.0, 1.0, 2.0, 1.0]];
    let got = graph.gather_outputs(&graph.eval_f64(&x));
    assert_eq!(got[0], [&data[4..6], &data[4..6], &data[10..12], &data[10..12]].concat());
    assert_eq!(got[1], vec![data[5], data[11]]);
}

/// `Celu` is ONNX's `max(0, x) + min(0, alpha (exp(x / alpha) - 1))` for every `alpha`, not
/// tract's translation (which drops `alpha` from the negative branch: `celu(-3)` at
/// `alpha = 2` would be -0.777, ONNX says -1.554). The reference here is the formula itself,
/// since tract is what was wrong.
#[test]
fn test_celu_matches_onnx_for_every_alpha() {
    for alpha in [2.0f32, 0.5, 1.0] {
        let mut m = OnnxBuilder::new(13);
        let x = m.input("x", &[Some(1), Some(8)]);
        let y = m.node("Celu", &[&x], vec![float("alpha", alpha)]);
        m.output(&y);
        let mut proto = m.build();
        super::celu::rewrite(&mut proto).expect("rewrite");
        let rewritten = proto.graph.as_ref().map(|g| g.node.iter().any(|n| n.op_type == "Celu"));
        assert_eq!(rewritten, Some(alpha == 1.0), "alpha {alpha}: Celu left for tract only at 1");
        let graph =
            import_model(parse(&proto), Some(&[vec![1, 8]]), Path::new("t.onnx")).expect("import");
        let x = vec![-3.0, -2.0, -1.0, -0.5, -0.125, 0.0, 0.75, 2.5];
        let a = f64::from(alpha);
        let want: Vec<f64> =
            x.iter().map(|&v: &f64| v.max(0.0) + (a * ((v / a).exp() - 1.0)).min(0.0)).collect();
        let got = graph.gather_outputs(&graph.eval_f64(std::slice::from_ref(&x)));
        for (g, w) in got[0].iter().zip(&want) {
            assert!((g - w).abs() < 1e-5, "alpha {alpha}: float graph {got:?} vs ONNX {want:?}");
        }
        let q = crate::quant::quantize(&graph, crate::quant::QuantSettings::narrow(10, 16))
            .expect("quantize");
        let trace = q.eval(&q.quantize_inputs(std::slice::from_ref(&x)).expect("inputs"));
        let got = q.outputs_f64(&trace.expect("eval"));
        for (g, w) in got[0].iter().zip(&want) {
            assert!((g - w).abs() < 1e-2, "alpha {alpha}: quantized {got:?} vs ONNX {want:?}");
        }
    }
}

/// The scatter and ND-gather lowerings hold in the circuit: honest witnesses pass, every
/// witness cell changed by one and every index step flipped at once are rejected (mock
/// prover; the gadgets are the existing steps, products and linear rows).
#[test]
fn test_scatters_and_nd_gathers_at_input_indices_are_sound() {
    let mut m = OnnxBuilder::new(16);
    let x = m.input("x", &[Some(1), Some(3)]);
    let idx = m.input_of("idx", &[Some(1), Some(1)], 7);
    let u = m.input("u", &[Some(1), Some(1)]);
    let y = m.node("ScatterElements", &[&x, &idx, &u], vec![int("axis", 1)]);
    m.output(&y);
    let shapes = [vec![1, 3], vec![1, 1], vec![1, 1]];
    let graph =
        import_model(parse(&m.build()), Some(&shapes), Path::new("t.onnx")).expect("import");
    for at in [1.0, -1.0] {
        crate::circuit::tests::assert_lowering_sound(
            &graph,
            &[vec![0.5, -1.0, 1.5], vec![at], vec![2.0]],
        );
    }

    let mut m = OnnxBuilder::new(13);
    let d = m.input("d", &[Some(3), Some(2)]);
    let cells = m.input_of("cells", &[Some(1), Some(2)], 7);
    let y = m.node("GatherND", &[&d, &cells], vec![]);
    m.output(&y);
    let shapes = [vec![3, 2], vec![1, 2]];
    let graph =
        import_model(parse(&m.build()), Some(&shapes), Path::new("t.onnx")).expect("import");
    let d = vec![0.5, -1.0, 1.5, 2.0, -0.25, 0.75];
    crate::circuit::tests::assert_lowering_sound(&graph, &[d.clone(), vec![2.0, -1.0]]);

    // With a batch axis: one gather per batch.
    let mut m = OnnxBuilder::new(13);
    let data = m.input("d", &[Some(2), Some(3)]);
    let at = m.input_of("at", &[Some(2), Some(1)], 7);
    let y = m.node("GatherND", &[&data, &at], vec![int("batch_dims", 1)]);
    m.output(&y);
    let shapes = [vec![2, 3], vec![2, 1]];
    let graph =
        import_model(parse(&m.build()), Some(&shapes), Path::new("t.onnx")).expect("import");
    crate::circuit::tests::assert_lowering_sound(&graph, &[d, vec![2.0, 1.0]]);

    // Reductions add a product (mul) or a maximum lookup (max, min) per reachable entry.
    for reduction in ["mul", "max", "min", "add"] {
        let mut m = OnnxBuilder::new(16);
        let x = m.input("x", &[Some(1), Some(3)]);
        let idx = m.input_of("idx", &[Some(1), Some(2)], 7);
        let u = m.input("u", &[Some(1), Some(2)]);
        let attrs = vec![int("axis", 1), string("reduction", reduction)];
        let y = m.node("ScatterElements", &[&x, &idx, &u], attrs);
        m.output(&y);
        let shapes = [vec![1, 3], vec![1, 2], vec![1, 2]];
        let graph =
            import_model(parse(&m.build()), Some(&shapes), Path::new("t.onnx")).expect("import");
        crate::circuit::tests::assert_lowering_sound(
            &graph,
            &[vec![0.5, -1.0, 1.5], vec![1.0, 1.0], vec![2.0, -0.5]],
        );
    }
}

/// EZKL's `large_mlp` pattern, an input expanded and tiled into rows before a `Gemm`: one of
/// tract's declutter rewrites fails on it (it tries to feed the untiled input to the
/// product); the model as typed lowers instead, and both the float reference and the
/// quantized model match the product computed by hand.
#[test]
fn test_models_tract_cannot_declutter_lower_as_typed() {
    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[Some(1), Some(3)]);
    let ones = m.ints(&[2], vec![1, 3]);
    let expanded = m.node("Expand", &[&x, &ones], vec![]);
    let repeats = m.ints(&[2], vec![2, 1]);
    let tiled = m.node("Tile", &[&expanded, &repeats], vec![]);
    let w = m.weights(&[2, 3], vec![1.0, 0.5, -1.0, 0.25, 2.0, 0.0]);
    let bias = m.weights(&[2], vec![0.5, -0.25]);
    let y = m.node("Gemm", &[&tiled, &w, &bias], vec![int("transB", 1)]);
    m.output(&y);
    let proto = m.build();
    let typed =
        load::typed_model(parse(&proto), Some(&[vec![1, 3]]), Path::new("t.onnx")).expect("typed");
    assert!(
        typed.into_decluttered().is_err(),
        "tract declutters this now: the test's premise is gone"
    );
    let graph =
        import_model(parse(&proto), Some(&[vec![1, 3]]), Path::new("t.onnx")).expect("import");
    let x = vec![vec![2.0, -1.0, 0.5]];
    let row = [2.0 - 0.5 - 0.5 + 0.5, 0.5 - 2.0 - 0.25];
    let want = vec![[row, row].concat()];
    assert_eq!(graph.gather_outputs(&graph.eval_f64(&x)), want, "float graph");
    assert_eq!(quantized_outputs(&graph, &x), want, "quantized");
    let inputs = InputData { values: x, shapes: None };
    let tract = run_float(parse(&proto), &inputs, Path::new("t.onnx")).expect("tract run");
    assert_eq!(tract, vec![want[0].iter().map(|&v| v as f32).collect::<Vec<f32>>()]);
}

/// The quantized model's error on `x`, which must be an index out of its axis.
fn index_error(graph: &Graph, x: &[Vec<f64>]) -> (String, f64, u64) {
    let q = crate::quant::quantize(graph, crate::quant::QuantSettings::narrow(4, 12))
        .expect("quantize");
    match q.eval(&q.quantize_inputs(x).expect("inputs")) {
        Err(ProverError::IndexOutOfRange { op, index, len, .. }) => (op, index, len),
        other => panic!("{x:?}: expected IndexOutOfRange, got {other:?}"),
    }
}

/// An index outside `[-len, len)` has no ONNX result (onnxruntime stops), and the lowering
/// would pick the nearest entry: witness generation stops with the index, the axis and the
/// op, for every gather and scatter at input indices, also where the index is computed
/// from the input (a linear node the fold would otherwise merge into the steps). The
/// indices at the edges still evaluate.
#[test]
fn test_indices_outside_their_axis_are_an_error_not_a_proof() {
    let mut m = OnnxBuilder::new(13);
    let idx = m.input_of("idx", &[Some(2)], 7);
    let one = m.ints(&[], vec![1]);
    let shifted = m.node("Add", &[&idx, &one], vec![]);
    let table = m.weights(&[4], vec![10.0, 20.0, 30.0, 40.0]);
    let y = m.node("Gather", &[&table, &shifted], vec![int("axis", 0)]);
    m.output(&y);
    let graph =
        import_model(parse(&m.build()), Some(&[vec![2]]), Path::new("t.onnx")).expect("import");
    assert_eq!(quantized_outputs(&graph, &[vec![2.0, -5.0]]), vec![vec![40.0, 10.0]]);
    for (at, bad) in [([3.0, 0.0], 4.0), ([0.0, -6.0], -5.0), ([40.0, -60.0], 41.0)] {
        let (op, index, len) = index_error(&graph, &[at.to_vec()]);
        assert_eq!((op.as_str(), index, len), ("Gather", bad, 4), "{at:?}");
    }

    let mut m = OnnxBuilder::new(13);
    let d = m.input("d", &[Some(3), Some(2)]);
    let cells = m.input_of("cells", &[Some(1), Some(2)], 7);
    let y = m.node("GatherND", &[&d, &cells], vec![]);
    m.output(&y);
    let graph =
        import_model(parse(&m.build()), Some(&[vec![3, 2], vec![1, 2]]), Path::new("t.onnx"))
            .expect("import");
    let d = vec![0.5, -1.0, 1.5, 2.0, -0.25, 0.75];
    assert_eq!(quantized_outputs(&graph, &[d.clone(), vec![-3.0, 1.0]]), vec![vec![-1.0]]);
    // Each component against its own axis: 2 is a row of 3 but no column of 2.
    let (_, index, len) = index_error(&graph, &[d.clone(), vec![0.0, 2.0]]);
    assert_eq!((index, len), (2.0, 2));
    let (_, index, len) = index_error(&graph, &[d, vec![-4.0, 0.0]]);
    assert_eq!((index, len), (-4.0, 3));

    let mut m = OnnxBuilder::new(16);
    let x = m.input("x", &[Some(1), Some(5)]);
    let idx = m.input_of("idx", &[Some(1), Some(2)], 7);
    let u = m.input("u", &[Some(1), Some(2)]);
    let y = m.node("ScatterElements", &[&x, &idx, &u], vec![int("axis", 1)]);
    m.output(&y);
    let shapes = [vec![1, 5], vec![1, 2], vec![1, 2]];
    let graph =
        import_model(parse(&m.build()), Some(&shapes), Path::new("t.onnx")).expect("import");
    let x = vec![0.0; 5];
    let (op, index, len) = index_error(&graph, &[x.clone(), vec![4.0, 5.0], vec![1.0, 2.0]]);
    assert_eq!((op.as_str(), index, len), ("ScatterElements", 5.0, 5));

    let mut m = OnnxBuilder::new(13);
    let idx = m.input_of("idx", &[Some(3)], 7);
    let depth = m.ints(&[], vec![4]);
    let vals = m.weights(&[2], vec![0.0, 1.0]);
    let y = m.node("OneHot", &[&idx, &depth, &vals], vec![int("axis", -1)]);
    m.output(&y);
    let graph =
        import_model(parse(&m.build()), Some(&[vec![3]]), Path::new("t.onnx")).expect("import");
    let (_, index, len) = index_error(&graph, &[vec![1.0, -4.0, 4.0]]);
    assert_eq!((index, len), (4.0, 4));
}

/// `Gather` from a constant table at an input index counts a negative index from the end,
/// as ONNX specifies (it was clamped to the first entry).
#[test]
fn test_gather_at_negative_input_indices_counts_from_the_end() {
    let mut m = OnnxBuilder::new(13);
    let idx = m.input_of("idx", &[Some(6)], 7);
    let table = m.weights(&[4], vec![10.0, 20.0, 30.0, 40.0]);
    let y = m.node("Gather", &[&table, &idx], vec![int("axis", 0)]);
    m.output(&y);
    let proto = m.build();
    let graph = import_model(parse(&proto), Some(&[vec![6]]), Path::new("t.onnx")).expect("import");
    let x = vec![vec![-1.0, -4.0, 0.0, 3.0, -2.0, 1.0]];
    assert_exact_against_tract(&proto, &graph, &x);
    assert_eq!(
        graph.gather_outputs(&graph.eval_f64(&x))[0],
        vec![40.0, 10.0, 10.0, 40.0, 30.0, 20.0]
    );
}

/// A non-zero constant among moved data (concatenated beside the input) becomes the
/// biases of one linear node, then moves like any value.
#[test]
fn test_constants_among_moved_data_are_biases() {
    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[Some(1), Some(3)]);
    let c = m.weights(&[1, 2], vec![0.5, -1.0]);
    let y = m.node("Concat", &[&c, &x, &c], vec![int("axis", 1)]);
    let t = m.node("Tanh", &[&y], vec![]);
    m.output(&t);
    let g = assert_matches_tract(&m.build(), &[1, 3]);
    assert_eq!(count_kinds(&g), "linear 2 mul 0 act 1 max 0");
}

/// tract turns an integer product with a power of two into a left shift: a linear row.
#[test]
fn test_integer_products_by_powers_of_two_are_shifts() {
    let mut m = OnnxBuilder::new(13);
    let k = m.input_of("k", &[Some(1), Some(4)], 7);
    let c = m.ints(&[], vec![8]);
    let y = m.node("Mul", &[&k, &c], vec![]);
    m.output(&y);
    let proto = m.build();
    let graph =
        import_model(parse(&proto), Some(&[vec![1, 4]]), Path::new("t.onnx")).expect("import");
    let inputs = InputData { values: vec![vec![-3.0, 0.0, 5.0, 7.0]], shapes: None };
    let want = run_float(parse(&proto), &inputs, Path::new("t.onnx")).expect("tract run");
    assert_eq!(want, vec![vec![-24.0, 0.0, 40.0, 56.0]]);
    assert_eq!(
        graph.gather_outputs(&graph.eval_f64(&inputs.values)),
        vec![vec![-24.0, 0.0, 40.0, 56.0]]
    );
    assert_eq!(count_kinds(&graph), "linear 1 mul 0 act 0 max 0");
}

/// `OneHot` of input-dependent indices, on the last axis and on a middle one, with values
/// other than 0 and 1: the gathered rows of its diagonal table, matching tract.
#[test]
fn test_one_hot_of_input_indices_matches_tract() {
    for axis in [-1, 1] {
        let mut m = OnnxBuilder::new(13);
        let idx = m.input_of("idx", &[Some(2), Some(3)], 7);
        let depth = m.ints(&[], vec![4]);
        let vals = m.weights(&[2], vec![-0.5, 2.0]);
        let y = m.node("OneHot", &[&idx, &depth, &vals], vec![int("axis", axis)]);
        m.output(&y);
        let proto = m.build();
        let graph =
            import_model(parse(&proto), Some(&[vec![2, 3]]), Path::new("t.onnx")).expect("import");
        let inputs = InputData { values: vec![vec![0.0, 3.0, 1.0, 2.0, 2.0, 0.0]], shapes: None };
        let want = run_float(parse(&proto), &inputs, Path::new("t.onnx")).expect("tract run");
        let got = graph.gather_outputs(&graph.eval_f64(&inputs.values));
        assert!(max_error(&got, &want) == 0.0, "axis {axis}: {got:?} vs {want:?}");
        assert_eq!(want[0].iter().filter(|v| **v == 2.0).count(), 6, "{want:?}");
    }
}

/// A classifier's labels as unsigned integers (skl2onnx's `LinearSVC` keeps `uint8` classes):
/// selecting one by an input-dependent index yields one of the constants, never a new value
/// that could wrap, so it is accepted; arithmetic on unsigned values stays refused.
#[test]
fn test_unsigned_labels_selected_by_input_indices_match_tract() {
    let labels = [3, 7, 200, 9];
    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[Some(2), Some(4)]);
    let table = m.ints_of(&[4], labels.to_vec(), 2);
    let idx = m.node("ArgMax", &[&x], vec![int("axis", 1), int("keepdims", 0)]);
    let y = m.node("Gather", &[&table, &idx], vec![int("axis", 0)]);
    m.output(&y);
    let proto = m.build();
    let graph =
        import_model(parse(&proto), Some(&[vec![2, 4]]), Path::new("t.onnx")).expect("import");
    for (row, want) in [([0.5, -1.0, 2.0, 0.1], 200.0), ([3.0, 1.0, -2.0, 2.0], 3.0)] {
        let mut both = row.to_vec();
        both.extend([0.0, 4.0, 1.0, 4.5]);
        let inputs = InputData { values: vec![both], shapes: None };
        let tract = run_float(parse(&proto), &inputs, Path::new("t.onnx")).expect("tract run");
        let got = graph.gather_outputs(&graph.eval_f64(&inputs.values));
        assert!(max_error(&got, &tract) == 0.0, "{row:?}: {got:?} vs {tract:?}");
        assert_eq!(got[0], vec![want, 9.0], "{row:?}");
    }

    // A sum of two unsigned labels could wrap in onnxruntime (200 + 200 in uint8): refused.
    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[Some(2), Some(4)]);
    let table = m.ints_of(&[4], labels.to_vec(), 2);
    let idx = m.node("ArgMax", &[&x], vec![int("axis", 1), int("keepdims", 0)]);
    let y = m.node("Gather", &[&table, &idx], vec![int("axis", 0)]);
    let sum = m.node("Add", &[&y, &y], vec![]);
    m.output(&sum);
    let (_, _, reason) =
        unsupported(import_model(parse(&m.build()), Some(&[vec![2, 4]]), Path::new("t.onnx")));
    assert!(reason.contains("U8"), "{reason}");
}

/// HardSwish, and powers: a constant exponent (a table), a constant base (`e^(x ln c)`),
/// both operands from the input (`e^(b ln a)`); fractional exponents of positive bases.
#[test]
fn test_powers_and_hard_swish_match_tract() {
    let mut m = OnnxBuilder::new(14);
    let x = m.input("x", &[Some(1), Some(6)]);
    let y = m.node("HardSwish", &[&x], vec![]);
    m.output(&y);
    let g = assert_matches_tract(&m.build(), &[1, 6]);
    assert_eq!(count_kinds(&g), "linear 0 mul 0 act 1 max 0");
    // Builds the power from the input `x` and a positive base `p`.
    type Power = fn(&mut OnnxBuilder, &str, &str) -> String;
    let cases: [(&str, Power, &str); 4] = [
        (
            "x^-0.1",
            |m, _, p| {
                let e = m.weights(&[1], vec![-0.1]);
                m.node("Pow", &[p, &e], vec![])
            },
            "linear 1 mul 0 act 2 max 0",
        ),
        (
            "x^3",
            |m, x, _| {
                let e = m.weights(&[1], vec![3.0]);
                m.node("Pow", &[x, &e], vec![])
            },
            "linear 0 mul 0 act 1 max 0",
        ),
        (
            "10^x",
            |m, x, _| {
                let c = m.weights(&[1], vec![10.0]);
                m.node("Pow", &[&c, x], vec![])
            },
            "linear 1 mul 0 act 1 max 0",
        ),
        ("p^x", |m, x, p| m.node("Pow", &[p, x], vec![]), "linear 1 mul 1 act 3 max 0"),
    ];
    for (what, build, kinds) in cases {
        let mut m = OnnxBuilder::new(13);
        let x = m.input("x", &[Some(1), Some(6)]);
        // A positive base: |x| + 0.5.
        let a = m.node("Abs", &[&x], vec![]);
        let half = m.weights(&[1], vec![0.5]);
        let p = m.node("Add", &[&a, &half], vec![]);
        let y = build(&mut m, &x, &p);
        m.output(&y);
        let g = assert_matches_tract(&m.build(), &[1, 6]);
        assert_eq!(count_kinds(&g), kinds, "{what}");
    }
    // A negative constant base has no real power.
    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[Some(1), Some(6)]);
    let c = m.weights(&[1], vec![-2.0]);
    let y = m.node("Pow", &[&c, &x], vec![]);
    m.output(&y);
    let (_, _, reason) = unsupported(import_proto(&m.build(), &[1, 6]));
    assert!(reason.contains("not positive"), "{reason}");
}

/// Softmax and log-softmax over the last axis, softsign (a division by `1 + |x|`),
/// Reciprocal and the quotient of two tensors.
#[test]
fn test_softmax_and_divisions_match_tract() {
    for (op, attrs) in [
        ("Softmax", vec![int("axis", -1)]),
        ("LogSoftmax", vec![int("axis", -1)]),
        ("Softsign", vec![]),
    ] {
        let mut m = OnnxBuilder::new(13);
        let x = m.input("x", &[Some(3), Some(4)]);
        let y = m.node(op, &[&x], attrs);
        m.output(&y);
        let g = assert_matches_tract(&m.build(), &[3, 4]);
        let divs = g.nodes.iter().filter(|n| matches!(n.kind, NodeKind::Div { .. })).count();
        assert_eq!(divs, usize::from(op != "LogSoftmax"), "{op}");
    }
    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[Some(2), Some(3)]);
    let e = m.node("Exp", &[&x], vec![]);
    let r = m.node("Reciprocal", &[&e], vec![]);
    let q = m.node("Div", &[&x, &e], vec![]);
    let y = m.node("Add", &[&r, &q], vec![]);
    m.output(&y);
    // tract rewrites `x / e` as `x * recip(e)`: one reciprocal serves both.
    let g = assert_matches_tract(&m.build(), &[2, 3]);
    assert_eq!(count_kinds(&g), "linear 2 mul 1 act 1 max 0 div 1");
}

/// `Where` on a constant condition (attention's causal mask): each element taken from the
/// input or from the constant, as one linear node.
#[test]
fn test_where_on_a_constant_condition_matches_tract() {
    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[Some(2), Some(3)]);
    let mask = m.ints(&[2, 3], vec![1, 0, 1, 0, 1, 1]);
    let cond = m.node("Cast", &[&mask], vec![int("to", 9)]);
    let fill = m.weights(&[1], vec![-10.0]);
    let y = m.node("Where", &[&cond, &x, &fill], vec![]);
    let s = m.node("Softmax", &[&y], vec![int("axis", -1)]);
    m.output(&s);
    let g = assert_matches_tract(&m.build(), &[2, 3]);
    assert!(count_kinds(&g).starts_with("linear 3 "), "{}", count_kinds(&g));
}

/// Attention's `x x^T`: both operands depend on the input, so every product is a product
/// node, then each output their sum.
#[test]
fn test_product_of_two_activations_as_matmul_matches_tract() {
    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[Some(2), Some(3)]);
    let t = m.node("Transpose", &[&x], vec![ints("perm", &[1, 0])]);
    let y = m.node("MatMul", &[&x, &t], vec![]);
    m.output(&y);
    let g = assert_matches_tract(&m.build(), &[2, 3]);
    assert_eq!(count_kinds(&g), "linear 0 mul 1 act 0 max 0");
    match &g.nodes[0].kind {
        NodeKind::Dot { a, terms, .. } => {
            assert_eq!((a.len(), *terms), (2 * 2 * 3, 3), "one product per term, summed")
        }
        other => panic!("expected a sum of products, got {other:?}"),
    }
}

/// Attention's `Q Kᵀ` (64 positions, 32 features): each score one sum of 32 products, no
/// product left waiting for a later sum (which a shard cut would have to pass on).
#[test]
fn test_attention_scores_are_sums_of_products() {
    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[Some(1), Some(64), Some(32)]);
    let wq = m.weights(&[32, 32], values(32 * 32, 5));
    let wk = m.weights(&[32, 32], values(32 * 32, 6));
    let q = m.node("MatMul", &[&x, &wq], vec![]);
    let k = m.node("MatMul", &[&x, &wk], vec![]);
    let kt = m.node("Transpose", &[&k], vec![ints("perm", &[0, 2, 1])]);
    let scores = m.node("MatMul", &[&q, &kt], vec![]);
    let quarter = m.weights(&[1], vec![0.25]);
    let scaled = m.node("Mul", &[&scores, &quarter], vec![]);
    m.output(&scaled);
    let g = assert_matches_tract(&m.build(), &[1, 64, 32]);
    let dots: Vec<(usize, u32)> = g
        .nodes
        .iter()
        .filter_map(|n| match &n.kind {
            NodeKind::Dot { terms, .. } => Some((n.kind.len(), *terms)),
            NodeKind::Mul { .. } => panic!("a product outside a sum: {}", n.name),
            _ => None,
        })
        .collect();
    assert_eq!(dots, vec![(64 * 64, 32)]);
}

#[test]
fn test_constant_output_is_rejected() {
    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[Some(1), Some(2)]);
    let r = m.node("Relu", &[&x], vec![]);
    let w = m.weights(&[2], vec![1.0, 2.0]);
    let c = m.node("Add", &[&w, &w], vec![]);
    m.output(&r);
    m.output(&c);
    let (_, _, reason) = unsupported(import_proto(&m.build(), &[1, 2]));
    assert!(reason.contains("constant"), "{reason}");
}

#[test]
fn test_input_shapes_resolution() {
    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[None, Some(3)]);
    let r = m.node("Relu", &[&x], vec![]);
    m.output(&r);
    let proto = m.build();
    let shape_of = |shapes: Option<&[Vec<usize>]>| {
        import_model(parse(&proto), shapes, Path::new("t.onnx")).map(|g| g.inputs[0].shape.clone())
    };
    assert_eq!(shape_of(None).expect("batch defaults to 1"), vec![1, 3]);
    assert_eq!(shape_of(Some(&[vec![3]])).expect("EZKL shape without batch"), vec![1, 3]);
    assert_eq!(shape_of(Some(&[vec![2, 3]])).expect("explicit batch"), vec![2, 3]);
    for bad in [vec![vec![4]], vec![vec![1, 4]], vec![vec![3], vec![3]]] {
        let err = shape_of(Some(&bad)).unwrap_err();
        assert!(matches!(err, ProverError::InputShape(_)), "{bad:?}: {err:?}");
    }
}

#[test]
fn test_bad_model_files() {
    let err = import_onnx(Path::new("/nonexistent/zkattest.onnx"), None).unwrap_err();
    assert!(matches!(err, ProverError::Io { .. }), "{err:?}");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("garbage.onnx");
    std::fs::write(&path, b"not a protobuf").expect("write");
    let err = import_onnx(&path, None).unwrap_err();
    assert!(matches!(err, ProverError::Onnx { .. }), "{err:?}");
}

#[test]
fn test_float_reference_checks_input_sizes() {
    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[Some(1), Some(3)]);
    let r = m.node("Relu", &[&x], vec![]);
    m.output(&r);
    let inputs = InputData { values: vec![vec![1.0, 2.0]], shapes: None };
    let err = run_float(parse(&m.build()), &inputs, Path::new("t.onnx")).unwrap_err();
    assert!(matches!(err, ProverError::InputShape(_)), "{err:?}");
}

/// docs/ops.md cannot drift: every op of its elementwise table imports as a one-node model,
/// and every test the page names exists.
#[test]
fn ops_doc_matches_the_importer() {
    let doc = include_str!("../../../../docs/ops.md");
    let sources = [
        include_str!("tests.rs"),
        include_str!("../../circuit/tests.rs"),
        include_str!("../../quant/tests.rs"),
        include_str!("../../../tests/conformance.rs"),
    ];
    let table = doc
        .split("## Elementwise functions")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("the elementwise table");
    let mut ops = 0;
    for line in table.lines().filter(|l| l.starts_with("| `")) {
        let op = line.split('`').nth(1).expect("an op name");
        let mut m = OnnxBuilder::new(13);
        let x = m.input("x", &[Some(2), Some(5)]);
        let y = if op == "PRelu" {
            let slope = m.weights(&[1], vec![0.25]);
            m.node(op, &[&x, &slope], vec![])
        } else if op == "Pow" {
            let exponent = m.weights(&[1], vec![3.0]);
            m.node(op, &[&x, &exponent], vec![])
        } else {
            m.node(op, &[&x], vec![])
        };
        m.output(&y);
        import_proto(&m.build(), &[2, 5]).unwrap_or_else(|e| panic!("docs/ops.md lists {op}: {e}"));
        ops += 1;
    }
    assert!(ops >= 15, "only {ops} ops read from the table");
    let mut named = 0;
    for line in doc.lines().filter(|l| l.starts_with("| `")) {
        let tests = line.rsplit('|').nth(1).expect("a tests column");
        for name in tests.split('`').skip(1).step_by(2) {
            let exists = sources.iter().any(|s| {
                s.contains(&format!("fn {name}("))
                    || s.contains(&format!(" {name} =>"))
                    || s.contains(&format!("    {name},"))
            });
            assert!(exists, "docs/ops.md names a test that does not exist: {name}");
            named += 1;
        }
    }
    assert!(named >= 30, "only {named} tests read from the tables");
}

/// Comparisons of input and constant and of two inputs, every logic op, `Where` with an
/// input-dependent condition (both branches inputs, both constants), and casts of booleans.
#[test]
fn test_comparisons_logic_and_where_match_tract() {
    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[Some(2), Some(5)]);
    let c = m.weights(&[5], vec![-0.5, -0.1, 0.0, 0.2, 0.6]);
    let half = m.weights(&[1], vec![0.5]);
    let s = m.node("Sigmoid", &[&x], vec![]);
    let y = m.node("Sub", &[&s, &half], vec![]);
    let lt = m.node("Less", &[&x, &c], vec![]);
    let gt = m.node("Greater", &[&x, &y], vec![]);
    let le = m.node("LessOrEqual", &[&y, &c], vec![]);
    let ge = m.node("GreaterOrEqual", &[&c, &x], vec![]);
    let not = m.node("Not", &[&lt], vec![]);
    let or = m.node("Or", &[&not, &gt], vec![]);
    let xor = m.node("Xor", &[&lt, &le], vec![]);
    let and = m.node("And", &[&or, &xor], vec![]);
    let t = m.node("Tanh", &[&x], vec![]);
    let w = m.node("Where", &[&and, &x, &t], vec![]);
    let one = m.weights(&[1], vec![1.0]);
    let minus = m.weights(&[1], vec![-2.0]);
    let w2 = m.node("Where", &[&ge, &one, &minus], vec![]);
    let cast = m.node("Cast", &[&xor], vec![int("to", 1)]);
    let sum = m.node("Add", &[&w, &w2], vec![]);
    let out = m.node("Add", &[&sum, &cast], vec![]);
    m.output(&out);
    let g = assert_matches_tract(&m.build(), &[2, 5]);
    let steps = g
        .nodes
        .iter()
        .filter(|n| {
            matches!(
                n.kind,
                NodeKind::Act { act: Activation::Positive | Activation::NonNegative, .. }
            )
        })
        .count();
    assert_eq!(steps, 4, "one step function per comparison");
}

/// Equality and its negation of values that do meet: `relu(x)` is 0 on every negative input.
#[test]
fn test_equal_and_not_equal_match_tract() {
    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[Some(2), Some(5)]);
    let r = m.node("Relu", &[&x], vec![]);
    let zero = m.weights(&[1], vec![0.0]);
    let eq = m.node("Equal", &[&r, &zero], vec![]);
    let ne = m.node("Not", &[&eq], vec![]);
    let a = m.node("Cast", &[&eq], vec![int("to", 1)]);
    let b = m.node("Cast", &[&ne], vec![int("to", 1)]);
    let y = m.node("Sub", &[&a, &b], vec![]);
    m.output(&y);
    assert_matches_tract(&m.build(), &[2, 5]);
}

/// ArgMax and ArgMin, first and last index, with ties (`relu(x - 0.3)` is 0 on most inputs).
#[test]
fn test_arg_max_and_min_match_tract_with_ties() {
    for (op, last) in [("ArgMax", 0), ("ArgMax", 1), ("ArgMin", 0), ("ArgMin", 1)] {
        let mut m = OnnxBuilder::new(13);
        let x = m.input("x", &[Some(3), Some(6)]);
        let shift = m.weights(&[1], vec![0.3]);
        let d = m.node("Sub", &[&x, &shift], vec![]);
        let r = m.node("Relu", &[&d], vec![]);
        let attrs = vec![int("axis", 1), int("keepdims", 0), int("select_last_index", last)];
        let i = m.node(op, &[&r], attrs);
        let f = m.node("Cast", &[&i], vec![int("to", 1)]);
        m.output(&f);
        let g = assert_matches_tract(&m.build(), &[3, 6]);
        assert_eq!(g.outputs[0].srcs.len(), 3, "{op} last={last}: one index per row");
    }
}

/// Integer and boolean inputs keep their type: integer sums and products, booleans through
/// logic; a non-integer value for an integer input is refused.
#[test]
fn test_integer_and_boolean_inputs() {
    let mut m = OnnxBuilder::new(13);
    let k = m.input_of("k", &[Some(1), Some(4)], 7);
    let three = m.ints(&[1], vec![3]);
    let p = m.node("Mul", &[&k, &three], vec![]);
    let s = m.node("Add", &[&p, &k], vec![]);
    let lt = m.node("Less", &[&s, &three], vec![]);
    let f = m.node("Cast", &[&s], vec![int("to", 1)]);
    m.output(&f);
    m.output(&lt);
    let proto = m.build();
    let graph = import_proto(&proto, &[1, 4]).expect("import");
    assert_eq!(graph.inputs[0].elem, crate::model::graph::ElemType::Integer);
    let inputs = InputData { values: vec![vec![-2.0, 0.0, 1.0, 5.0]], shapes: None };
    let want = run_float(parse(&proto), &inputs, Path::new("test.onnx")).expect("tract run");
    let got = graph.gather_outputs(&graph.eval_f64(&inputs.values));
    assert!(max_error(&got, &want) == 0.0, "{got:?} vs {want:?}");
    let halves = InputData { values: vec![vec![0.5, 0.0, 1.0, 5.0]], shapes: None };
    match run_float(parse(&proto), &halves, Path::new("test.onnx")) {
        Err(ProverError::InputShape(why)) => assert!(why.contains("not an integer"), "{why}"),
        other => panic!("expected an input error, got {other:?}"),
    }

    let mut m = OnnxBuilder::new(13);
    let a = m.input_of("a", &[Some(1), Some(3)], 9);
    let b = m.input_of("b", &[Some(1), Some(3)], 9);
    let x = m.node("Xor", &[&a, &b], vec![]);
    let y = m.node("And", &[&x, &a], vec![]);
    m.output(&y);
    let proto = m.build();
    let shapes = [vec![1, 3], vec![1, 3]];
    let graph = import_model(parse(&proto), Some(&shapes), Path::new("t.onnx")).expect("import");
    let inputs = InputData { values: vec![vec![1.0, 1.0, 0.0], vec![0.0, 1.0, 1.0]], shapes: None };
    let want = run_float(parse(&proto), &inputs, Path::new("test.onnx")).expect("tract run");
    assert_eq!(want, vec![vec![1.0, 0.0, 0.0]]);
    let got = graph.gather_outputs(&graph.eval_f64(&inputs.values));
    assert_eq!(got, vec![vec![1.0, 0.0, 0.0]]);
}

/// Integers divided by a constant or by a tensor truncate toward zero (ONNX, onnxruntime,
/// tract): lowered as `IntDiv` and `IntDivBy`, they match tract on numerators and divisors
/// of both signs, quantized as in the float graph. Casts that change values are refused.
#[test]
fn test_integer_division_truncates_and_value_changing_casts_are_refused() {
    let mut m = OnnxBuilder::new(13);
    let k = m.input_of("k", &[Some(10), Some(4)], 7);
    let c = m.ints(&[4], vec![3, -3, 7, 2]);
    let q = m.node("Div", &[&k, &c], vec![]);
    m.output(&q);
    let proto = m.build();
    let graph = import_proto(&proto, &[10, 4]).expect("import");
    assert!(graph.nodes.iter().any(|n| matches!(n.kind, NodeKind::IntDiv { .. })));
    let inputs = InputData { values: vec![(-20..20).map(f64::from).collect()], shapes: None };
    let want = run_float(parse(&proto), &inputs, Path::new("test.onnx")).expect("tract run");
    let got = graph.gather_outputs(&graph.eval_f64(&inputs.values));
    assert!(max_error(&got, &want) == 0.0, "{got:?} vs {want:?}");
    assert!(want[0].iter().any(|v| *v < 0.0) && want[0].contains(&-1.0), "{want:?}");

    // Every pair of numerator in -9..=9 and non-zero divisor in -5..=5, broadcast a row of
    // divisors against a column of numerators (int64 and int32).
    for ty in [7, 6] {
        let mut m = OnnxBuilder::new(13);
        let a = m.input_of("a", &[Some(19), Some(1)], ty);
        let b = m.input_of("b", &[Some(1), Some(10)], ty);
        let q = m.node("Div", &[&a, &b], vec![]);
        m.output(&q);
        let proto = m.build();
        let shapes = [vec![19, 1], vec![1, 10]];
        let graph =
            import_model(parse(&proto), Some(&shapes), Path::new("t.onnx")).expect("import");
        assert!(graph.nodes.iter().any(|n| matches!(n.kind, NodeKind::IntDivBy { .. })));
        let divisors: Vec<f64> = (-5..=5).filter(|d| *d != 0).map(f64::from).collect();
        let inputs =
            InputData { values: vec![(-9..=9).map(f64::from).collect(), divisors], shapes: None };
        let want = run_float(parse(&proto), &inputs, Path::new("test.onnx")).expect("tract run");
        let got = graph.gather_outputs(&graph.eval_f64(&inputs.values));
        assert!(max_error(&got, &want) == 0.0, "{got:?} vs {want:?}");
        assert!(want[0].contains(&-1.0) && want[0].contains(&4.0), "{want:?}");
        let q = crate::quant::quantize(&graph, crate::quant::QuantSettings::narrow(4, 10))
            .expect("quantize");
        let trace = q.eval(&q.quantize_inputs(&inputs.values).expect("inputs")).expect("eval");
        let proven: Vec<f64> = q.outputs_q(&trace).into_iter().map(|y| y as f64 / 16.0).collect();
        let want: Vec<f64> = want[0].iter().map(|y| f64::from(*y)).collect();
        assert_eq!(proven, want, "quantized integer division (type {ty})");
    }

    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[Some(1), Some(4)]);
    let k = m.node("Cast", &[&x], vec![int("to", 7)]);
    m.output(&k);
    let (op, _, reason) = unsupported(import_proto(&m.build(), &[1, 4]));
    assert!(op.contains("Cast"), "{op}");
    assert!(reason.contains("changes values"), "{reason}");
}

/// Nearest upsampling only copies references.
#[test]
fn test_nearest_resize_is_data_movement() {
    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[Some(1), Some(2), Some(3), Some(3)]);
    let roi = m.weights(&[0], vec![]);
    let scales = m.weights(&[4], vec![1.0, 1.0, 2.0, 2.0]);
    let attrs = vec![string("mode", "nearest")];
    let y = m.node("Resize", &[&x, &roi, &scales], attrs);
    let r = m.node("Relu", &[&y], vec![]);
    m.output(&r);
    let g = assert_matches_tract(&m.build(), &[1, 2, 3, 3]);
    assert_eq!(count_kinds(&g), "linear 0 mul 0 act 1 max 0");
}

/// Transposed convolutions (strides, padding, output padding, groups, bias) and
/// interpolating resizes, their matrices probed with tract: one linear node each.
#[test]
fn test_transposed_convolution_and_interpolating_resize_match_tract() {
    let deconvs = [
        (1, vec![2, 3, 3, 3], vec![int("group", 1)], 3),
        (2, vec![2, 1, 2, 2], vec![int("group", 2)], 2),
    ];
    for (seed, dims, mut attrs, out_channels) in deconvs {
        let mut m = OnnxBuilder::new(13);
        let x = m.input("x", &[Some(1), Some(2), Some(3), Some(3)]);
        let n = dims.iter().product::<i64>() as usize;
        let w = m.weights(&dims, values(n, seed));
        let bias = m.weights(&[out_channels], values(out_channels as usize, seed + 10));
        attrs.extend([
            ints("strides", &[2, 2]),
            ints("pads", &[1, 0, 1, 1]),
            ints("output_padding", &[1, 0]),
        ]);
        let y = m.node("ConvTranspose", &[&x, &w, &bias], attrs);
        m.output(&y);
        let g = assert_matches_tract(&m.build(), &[1, 2, 3, 3]);
        assert_eq!(count_kinds(&g), "linear 1 mul 0 act 0 max 0", "deconv {dims:?}");
    }
    for mode in ["linear", "cubic"] {
        let mut m = OnnxBuilder::new(13);
        let x = m.input("x", &[Some(1), Some(2), Some(3), Some(4)]);
        let roi = m.weights(&[0], vec![]);
        let scales = m.weights(&[4], vec![1.0, 1.0, 2.0, 1.5]);
        let y = m.node("Resize", &[&x, &roi, &scales], vec![string("mode", mode)]);
        m.output(&y);
        let g = assert_matches_tract(&m.build(), &[1, 2, 3, 4]);
        assert_eq!(count_kinds(&g), "linear 1 mul 0 act 0 max 0", "{mode}");
    }
}

/// TopK's values and indices, largest and smallest, with ties (`relu` is 0 on every negative
/// input, and equal values keep the earlier index in front); unread indices cost nothing.
#[test]
fn test_top_k_values_and_indices_match_tract_with_ties() {
    // ONNX TopK has two outputs; the builder's nodes have one, so the indices are added.
    let with_indices = |mut proto: tract_onnx::pb::ModelProto, read: bool| {
        let graph = proto.graph.as_mut().expect("graph");
        let mut names = Vec::new();
        for node in graph.node.iter_mut().filter(|n| n.op_type == "TopK") {
            node.output.push(format!("{}.indices", node.name));
            names.push(format!("{}.indices", node.name));
        }
        if read {
            for name in names {
                graph.output.push(tract_onnx::pb::ValueInfoProto { name, ..Default::default() });
            }
        }
        proto
    };
    let model = || {
        let mut m = OnnxBuilder::new(13);
        let x = m.input("x", &[Some(2), Some(6)]);
        let r = m.node("Relu", &[&x], vec![]);
        let k3 = m.ints(&[1], vec![3]);
        let top = m.node("TopK", &[&r, &k3], vec![int("axis", 1), int("largest", 1)]);
        let low = m.node("TopK", &[&x, &k3], vec![int("axis", -1), int("largest", 0)]);
        let y = m.node("Add", &[&top, &low], vec![]);
        m.output(&y);
        m.build()
    };
    let g = assert_matches_tract(&with_indices(model(), false), &[2, 6]);
    assert_eq!(g.outputs.len(), 1);
    assert!(count_kinds(&g).ends_with("act 1 max 24"), "{}", count_kinds(&g));

    // Read, every exchange moves an index beside its value: a step lookup and a product
    // instead of the maximum.
    let g = assert_matches_tract(&with_indices(model(), true), &[2, 6]);
    assert_eq!(g.outputs.len(), 3);
    assert_eq!(g.outputs[1].srcs.len(), 6);
    assert!(count_kinds(&g).ends_with("act 25 max 0"), "{}", count_kinds(&g));

    // k = n, along the first axis: a full sort.
    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[Some(4), Some(3)]);
    let k = m.ints(&[1], vec![4]);
    let top = m.node("TopK", &[&x, &k], vec![int("axis", 0)]);
    m.output(&top);
    assert_matches_tract(&with_indices(m.build(), true), &[4, 3]);
}

/// Recurrent nets over several time steps: tract's loop, unrolled step by step (LSTM, GRU
/// and RNN; reverse ones are rewritten first, see the next test).
#[test]
fn test_recurrent_nets_over_several_steps_match_tract() {
    let (steps, inputs, hidden) = (4i64, 2i64, 3i64);
    for (op, gates, direction) in [
        ("LSTM", 4, "forward"),
        ("LSTM", 4, "reverse"),
        ("GRU", 3, "forward"),
        ("RNN", 1, "forward"),
    ] {
        let mut m = OnnxBuilder::new(13);
        let x = m.input("x", &[Some(steps), Some(1), Some(inputs)]);
        let n = (gates * hidden) as usize;
        let w = m.weights(&[1, gates * hidden, inputs], values(n * inputs as usize, 3));
        let r = m.weights(&[1, gates * hidden, hidden], values(n * hidden as usize, 4));
        let b = m.weights(&[1, 2 * gates * hidden], values(2 * n, 5));
        let attrs = vec![int("hidden_size", hidden), string("direction", direction)];
        let y = m.node(op, &[&x, &w, &r, &b], attrs);
        m.output(&y);
        let g = assert_matches_tract(&m.build(), &[steps as usize, 1, inputs as usize]);
        assert_eq!(g.outputs[0].srcs.len(), (steps * hidden) as usize, "{op} {direction}");
    }
}
/// tract 0.23.9 runs a lone reverse recurrence forward; the rewrite runs it forward on the
/// time-reversed input and reverses the output back. Checked against tract's (correct)
/// forward pass on the reversed input, for LSTM, GRU and RNN, and the rewrite is needed: the
/// unrewritten model differs.
#[test]
fn test_reverse_recurrences_match_the_forward_pass_on_reversed_time() {
    let (steps, inputs, hidden) = (5usize, 2usize, 3usize);
    for (op, gates) in [("LSTM", 4), ("GRU", 3), ("RNN", 1)] {
        let build = |direction: &str| {
            let mut m = OnnxBuilder::new(13);
            let x = m.input("x", &[Some(steps as i64), Some(1), Some(inputs as i64)]);
            let n = gates * hidden;
            let w = m.weights(&[1, n as i64, inputs as i64], values(n * inputs, 7));
            let r = m.weights(&[1, n as i64, hidden as i64], values(n * hidden, 8));
            let attrs = vec![int("hidden_size", hidden as i64), string("direction", direction)];
            let y = m.node(op, &[&x, &w, &r], attrs);
            m.output(&y);
            m.build()
        };
        let shape = [steps, 1, inputs];
        let x = sample_input(&shape, 11);
        let mut reversed_x = x.clone();
        reversed_x.values[0] = x.values[0].chunks(inputs).rev().flatten().copied().collect();
        let forward = run_float(parse(&build("forward")), &reversed_x, Path::new("f.onnx"))
            .expect("tract forward");
        let want: Vec<f32> = forward[0].chunks(hidden).rev().flatten().copied().collect();

        let mut proto = build("reverse");
        let unrewritten =
            import_model(parse(&proto), Some(&[shape.to_vec()]), Path::new("r")).expect("import");
        super::reverse::rewrite(&mut proto).expect("rewrite");
        let graph = import_model(parse(&proto), Some(&[shape.to_vec()]), Path::new("r.onnx"))
            .expect("import");
        let got = graph.gather_outputs(&graph.eval_f64(&x.values));
        assert!(max_error(&got, std::slice::from_ref(&want)) <= 1e-5, "{op}: {got:?} vs {want:?}");
        let wrong = unrewritten.gather_outputs(&unrewritten.eval_f64(&x.values));
        assert!(max_error(&wrong, &[want]) > 1e-3, "{op}: tract's reverse is right now?");
    }
}

/// Padding with a non-zero constant: the data moved, the constant as biases.
#[test]
fn test_constant_padding_with_a_non_zero_value_matches_tract() {
    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[Some(1), Some(2), Some(3), Some(3)]);
    let pads = m.ints(&[8], vec![0, 0, 2, 1, 0, 0, 1, 3]);
    let value = m.weights(&[], vec![2.5]);
    let y = m.node("Pad", &[&x, &pads, &value], vec![string("mode", "constant")]);
    let r = m.node("Relu", &[&y], vec![]);
    m.output(&r);
    let g = assert_matches_tract(&m.build(), &[1, 2, 3, 3]);
    assert_eq!(g.outputs[0].srcs.len(), 2 * 6 * 7);
}

/// `PRelu` of opset 6 with one slope per channel (PyTorch's old exports): tract refuses the
/// model as written; the slope reshaped to `[C, 1]` means the same, checked by hand.
#[test]
fn test_legacy_per_channel_prelu() {
    let mut m = OnnxBuilder::new(6);
    let x = m.input("x", &[Some(2), Some(3), Some(4)]);
    let slope = m.weights(&[3], vec![0.1, -0.5, 2.0]);
    let y = m.node("PRelu", &[&x, &slope], vec![]);
    m.output(&y);
    let mut proto = m.build();
    assert!(import_proto(&proto, &[2, 3, 4]).is_err(), "tract reads it now: drop the rewrite?");
    super::legacy::rewrite(&mut proto);
    let graph = import_proto(&proto, &[2, 3, 4]).expect("import");
    let input = sample_input(&[2, 3, 4], 5);
    let got = graph.gather_outputs(&graph.eval_f64(&input.values));
    let want: Vec<f64> = input.values[0]
        .iter()
        .enumerate()
        .map(|(i, &v)| if v >= 0.0 { v } else { v * [0.1f32, -0.5, 2.0][(i / 4) % 3] as f64 })
        .collect();
    for (g, w) in got[0].iter().zip(&want) {
        assert!((g - w).abs() < 1e-6, "{g} vs {w}");
    }
}

/// skl2onnx's default classifier output, `ZipMap` (a list of `{class: probability}` maps):
/// proven as the probabilities tensor in class order.
#[test]
fn test_zip_map_is_its_probabilities_tensor() {
    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[Some(1), Some(3)]);
    let p = m.node("Softmax", &[&x], vec![int("axis", 1)]);
    let z = m.node("ZipMap", &[&p], vec![ints("classlabels_int64s", &[0, 1, 2])]);
    m.output(&z);
    let mut proto = m.build();
    proto
        .opset_import
        .push(tract_onnx::pb::OperatorSetIdProto { domain: "ai.onnx.ml".into(), version: 1 });
    let graph = proto.graph.as_mut().expect("graph");
    graph.node[1].domain = "ai.onnx.ml".into();
    assert!(import_proto(&proto, &[1, 3]).is_err(), "tract reads ZipMap now?");
    super::ml::rewrite(&mut proto).expect("rewrite");
    let g = import_proto(&proto, &[1, 3]).expect("import");
    let input = sample_input(&[1, 3], 9);
    let got = g.gather_outputs(&g.eval_f64(&input.values));
    let e: Vec<f64> = input.values[0].iter().map(|v| v.exp()).collect();
    let total: f64 = e.iter().sum();
    for (a, b) in got[0].iter().zip(e.iter().map(|v| v / total)) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
}

/// A classifier with string labels (`classlabels_strings`) proves the label's index; the names
/// stay with the label output, and name each proven value.
#[test]
fn test_string_class_labels_prove_their_index_and_keep_their_names() {
    use tract_onnx::pb;
    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[Some(1), Some(2)]);
    let names = ["cat", "dog", "eel"];
    let label = m.node(
        "LinearClassifier",
        &[&x],
        vec![
            floats("coefficients", &[1.0, 0.0, 0.0, 1.0, -1.0, -1.0]),
            floats("intercepts", &[0.0, 0.1, 0.2]),
            strings("classlabels_strings", &names),
            string("post_transform", "SOFTMAX"),
        ],
    );
    let mut proto = m.build();
    proto.opset_import.push(pb::OperatorSetIdProto { domain: "ai.onnx.ml".into(), version: 1 });
    let graph = proto.graph.as_mut().expect("graph");
    graph.node[0].domain = "ai.onnx.ml".into();
    graph.node[0].output.push("probabilities".into());
    // The label output is declared a string tensor, as skl2onnx writes it.
    let string_tensor = pb::TypeProto {
        value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
            elem_type: 8,
            shape: None,
        })),
        ..Default::default()
    };
    for output in [label.as_str(), "probabilities"] {
        graph.output.push(pb::ValueInfoProto { name: output.into(), ..Default::default() });
    }
    graph.output[0].r#type = Some(string_tensor);

    super::ml::rewrite(&mut proto).expect("rewrite");
    let g = import_model(parse(&proto), Some(&[vec![1, 2]]), Path::new("t.onnx")).expect("import");
    assert_eq!(g.outputs[0].info.classes, names);
    assert!(g.outputs[1].info.classes.is_empty());
    // Scores (x0, x1 + 0.1, 0.2 - x0 - x1): each class wins somewhere.
    for (input, want) in [([2.0, 0.0], "cat"), ([0.0, 2.0], "dog"), ([-1.0, -1.0], "eel")] {
        let values = vec![input.to_vec()];
        let out: Vec<f64> = g.gather_outputs(&g.eval_f64(&values)).concat();
        let labels = g.class_labels(&out);
        assert_eq!(labels.get(&label).map(Vec::as_slice), Some(&[want.to_string()][..]));
    }
    // A value that is no class index keeps its number.
    let labels = g.class_labels(&[1.5, 0.2, 0.3, 0.5]);
    assert_eq!(labels[&label], vec!["1.5".to_string()]);
}

/// Hummingbird's perfect tree traversal (how it exports XGBoost and forests): node indices
/// `2 i + [x_f < t]` level by level, gathers of features, thresholds and leaves at them.
/// Each index reaches only its own tree's `2^l` nodes, and the gathers test only those
/// (the circuit bounds the index: it is built from comparisons), not the whole table.
#[test]
fn test_tree_traversal_gathers_only_the_reachable_nodes() {
    const TREES: usize = 6;
    const DEPTH: u32 = 4;
    const FEATURES: usize = 4;
    let mut m = OnnxBuilder::new(13);
    let x = m.input("x", &[Some(1), Some(FEATURES as i64)]);
    let seeded = |n: usize, seed: u64| values(n, seed);
    let feature_ids =
        |n: usize, salt: usize| (0..n).map(move |i| ((i * 7 + salt) % FEATURES) as i64);
    let root_feats = m.ints(&[TREES as i64], feature_ids(TREES, 1).collect());
    let root_thr = m.weights(&[TREES as i64], seeded(TREES, 11));
    let tree_offsets = m.ints(&[TREES as i64], (0..TREES as i64).map(|t| 2 * t).collect());
    let flat = m.ints(&[1], vec![-1]);
    let row = m.ints(&[2], vec![-1, TREES as i64]);
    let two = m.ints(&[], vec![2]);
    let g = m.node("Gather", &[&x, &root_feats], vec![int("axis", 1)]);
    let lt = m.node("Less", &[&g, &root_thr], vec![]);
    let c = m.node("Cast", &[&lt], vec![int("to", 7)]);
    let idx = m.node("Add", &[&c, &tree_offsets], vec![]);
    let mut idx = m.node("Reshape", &[&idx, &flat], vec![]);
    for level in 1..DEPTH {
        let n = TREES << level;
        let feats = m.ints(&[n as i64], feature_ids(n, level as usize).collect());
        let thr = m.weights(&[n as i64], seeded(n, 20 + u64::from(level)));
        let f = m.node("Gather", &[&feats, &idx], vec![int("axis", 0)]);
        let f = m.node("Reshape", &[&f, &row], vec![]);
        let v = m.node("GatherElements", &[&x, &f], vec![int("axis", 1)]);
        let v = m.node("Reshape", &[&v, &flat], vec![]);
        let t = m.node("Gather", &[&thr, &idx], vec![int("axis", 0)]);
        let lt = m.node("Less", &[&v, &t], vec![]);
        let c = m.node("Cast", &[&lt], vec![int("to", 7)]);
        let doubled = m.node("Mul", &[&idx, &two], vec![]);
        idx = m.node("Add", &[&doubled, &c], vec![]);
    }
    let leaves = m.weights(&[(TREES << DEPTH) as i64, 1], seeded(TREES << DEPTH, 99));
    let leaf = m.node("Gather", &[&leaves, &idx], vec![int("axis", 0)]);
    let leaf = m.node("Reshape", &[&leaf, &row], vec![]);
    let sum = m.node("ReduceSum", &[&leaf], vec![ints("axes", &[1])]);
    m.output(&sum);
    let graph = assert_matches_tract(&m.build(), &[1, FEATURES]);

    let steps: usize = graph
        .nodes
        .iter()
        .filter_map(|n| match &n.kind {
            NodeKind::Act { input, act: Activation::Positive | Activation::NonNegative } => {
                Some(input.len())
            }
            _ => None,
        })
        .sum();
    // Per tree: one comparison a level; at level l the feature and threshold gathers tell
    // 2^l nodes apart (2^l - 1 steps each), the feature's GatherElements at most all
    // FEATURES; the leaves 2^DEPTH.
    let per_level = |l: u32| 2 * ((1 << l) - 1) + (FEATURES - 1);
    let bound =
        TREES * (DEPTH as usize + (1..DEPTH).map(per_level).sum::<usize>() + (1 << DEPTH) - 1);
    let leaves_alone = TREES * ((TREES << DEPTH) - 1);
    assert!(steps <= bound, "{steps} step lookups, more than the reachable {bound}");
    assert!(bound < leaves_alone, "the test would not tell bounded gathers from full ones");
}
