//! MockProver tests of the shard circuit: honest witnesses pass, tampered ones fail.

use std::sync::Arc;

use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::halo2curves::ff::Field;

use super::layout::{build, Layout};
use super::{fe, instance, ShardCircuit};
use crate::model::graph::{
    Activation, Graph, Node, NodeKind, OutputTensor, SparseRows, Src, TensorInfo,
};
use crate::quant::scales::ValueRanges;
use crate::quant::{quantize, quantize_with_ranges, QKind, QModel, QuantSettings};
use crate::shard::plan::{plan, ShardPlan};

const SETTINGS: QuantSettings = QuantSettings { scale_bits: 4, lookup_bits: 8 };

fn v(i: u32) -> Src {
    Src::Value(i)
}

/// A small graph with one node of every kind: 4 inputs, linear+relu, mul, sigmoid, max.
fn tiny_graph() -> Graph {
    let mut rows = SparseRows::new();
    rows.push_row([
        (v(0), 0.5),
        (v(1), -0.25),
        (v(2), 1.0),
        (v(3), 0.75),
        (v(0), 0.1),
        (v(1), 0.3),
    ]);
    rows.push_row([(v(2), -1.0), (v(3), 0.5)]);
    rows.push_row([]);
    let nodes = vec![
        Node {
            name: "fc".into(),
            op: "EinSum".into(),
            first: 4,
            kind: NodeKind::Linear { rows, bias: vec![0.1, -0.2, 0.3] },
        },
        Node {
            name: "relu".into(),
            op: "Max".into(),
            first: 7,
            kind: NodeKind::Act { input: vec![v(4), v(5), v(6)], act: Activation::Relu },
        },
        Node {
            name: "sq".into(),
            op: "Mul".into(),
            first: 10,
            kind: NodeKind::Mul { a: vec![v(7), v(8)], b: vec![v(9), v(0)] },
        },
        Node {
            name: "sig".into(),
            op: "Sigmoid".into(),
            first: 12,
            kind: NodeKind::Act { input: vec![v(10), v(1)], act: Activation::Sigmoid },
        },
        Node {
            name: "pool".into(),
            op: "MaxPool".into(),
            first: 14,
            kind: NodeKind::Max { windows: vec![vec![v(12), v(13), v(2)], vec![v(11)]] },
        },
        Node {
            name: "leaky".into(),
            op: "LeakyRelu".into(),
            first: 16,
            kind: NodeKind::Act {
                input: vec![v(3), v(14)],
                act: Activation::LeakyRelu { alpha: 0.1 },
            },
        },
    ];
    Graph {
        inputs: vec![TensorInfo { name: "x".into(), shape: vec![1, 4] }],
        nodes,
        outputs: vec![OutputTensor {
            info: TensorInfo { name: "y".into(), shape: vec![5] },
            srcs: vec![v(14), v(15), v(16), v(17), Src::Zero],
        }],
    }
}

fn inputs() -> Vec<Vec<f64>> {
    vec![vec![0.7, -1.3, 0.4, -0.9]]
}

fn layouts(q: &QModel, p: &ShardPlan) -> Vec<Layout> {
    let trace = q.eval(&q.quantize_inputs(&inputs()).expect("inputs")).expect("eval");
    p.shards
        .iter()
        .map(|s| {
            let vals: Vec<i64> = s.inputs.iter().map(|id| trace.values[*id as usize]).collect();
            build(q, s, &vals, Fr::from(42u64)).expect("layout")
        })
        .collect()
}

fn mock(k: u32, layout: &Layout) -> Result<(), String> {
    let circuit = ShardCircuit { layout: Arc::new(layout.clone()), with_witness: true };
    let prover = MockProver::run(k, &circuit, vec![layout.instances.clone()])
        .map_err(|e| format!("{e:?}"))?;
    prover.verify().map_err(|e| format!("{} failures, first: {:?}", e.len(), e.first()))
}

#[test]
fn honest_shards_pass_and_chain() {
    let q = quantize(&tiny_graph(), SETTINGS).expect("quantize");
    let p = plan(&q, 11).expect("plan");
    let ls = layouts(&q, &p);
    for l in &ls {
        mock(p.k, l).expect("honest witness satisfies");
    }
    for w in ls.windows(2) {
        assert_eq!(w[0].instances[instance::OUT_COMMIT], w[1].instances[instance::IN_COMMIT]);
    }
    // The last shard exposes exactly the reference evaluator's outputs.
    let trace = q.eval(&q.quantize_inputs(&inputs()).expect("inputs")).expect("eval");
    let last = ls.last().expect("a shard");
    let expect: Vec<Fr> = q.outputs_q(&trace).into_iter().map(fe).collect();
    assert_eq!(last.instances[instance::NUM_OUTPUTS], Fr::from(expect.len() as u64));
    assert_eq!(&last.instances[instance::OUTPUT0..instance::OUTPUT0 + expect.len()], &expect[..]);

    // Native commitments agree with the circuit's.
    let inputs_q = q.quantize_inputs(&inputs()).expect("inputs");
    let input_commit =
        crate::shard::boundary::input_commitment(&inputs_q, SETTINGS.lookup_bits, Fr::from(42u64));
    assert_eq!(ls[0].instances[instance::IN_COMMIT], input_commit);
    let outs: Vec<i64> = q.outputs_q(&trace);
    let out_commit = crate::shard::boundary::boundary_commitment(&outs, SETTINGS.lookup_bits);
    assert_eq!(last.instances[instance::OUT_COMMIT], out_commit);
}

#[test]
fn small_k_splits_into_several_shards_that_chain() {
    let q = quantize(&tiny_graph(), SETTINGS).expect("quantize");
    // k=11 leaves ~2040 rows: tables fit, and a boundary commitment costs ~70 rows a pair.
    let single = plan(&q, 11).expect("plan");
    assert_eq!(single.shards.len(), 1);
    let many = crate::shard::plan::plan_with_budget(&q, 11, 150).expect("plan");
    assert!(many.shards.len() >= 2, "{} shards", many.shards.len());
    let ls = layouts(&q, &many);
    for l in &ls {
        mock(many.k, l).expect("honest witness satisfies");
    }
    for w in ls.windows(2) {
        assert_eq!(w[0].instances[instance::OUT_COMMIT], w[1].instances[instance::IN_COMMIT]);
    }
}

/// A graph of one node over inputs `x0..x3`, outputs all of the node's values.
fn one_node(kind: NodeKind) -> Graph {
    let n = kind.len();
    Graph {
        inputs: vec![TensorInfo { name: "x".into(), shape: vec![4] }],
        nodes: vec![Node { name: "op".into(), op: "Op".into(), first: 4, kind }],
        outputs: vec![OutputTensor {
            info: TensorInfo { name: "y".into(), shape: vec![n] },
            srcs: (4..4 + n as u32).map(v).collect(),
        }],
    }
}

/// Honest witness passes; every non-zero advice cell, changed by one, breaks the circuit.
fn assert_sound(graph: &Graph) {
    assert_sound_model(&quantize(graph, SETTINGS).expect("quantize"));
}

fn assert_sound_model(q: &QModel) {
    let q = q.clone();
    let p = plan(&q, 11).expect("plan");
    let honest = layouts(&q, &p).remove(0);
    mock(p.k, &honest).expect("honest witness satisfies");
    let mut checked = 0;
    for col in 0..honest.advice.len() {
        for row in 0..honest.advice[col].len() {
            if bool::from(honest.advice[col][row].is_zero()) {
                continue;
            }
            let mut bad = honest.clone();
            bad.advice[col][row] += Fr::ONE;
            assert!(mock(p.k, &bad).is_err(), "tampering advice[{col}][{row}] went unnoticed");
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} cells checked");
}

#[test]
fn op_linear_with_rescale_is_sound() {
    let mut rows = SparseRows::new();
    rows.push_row([
        (v(0), 0.5),
        (v(1), -0.25),
        (v(2), 1.5),
        (v(3), 0.75),
        (v(0), 0.1),
        (v(1), 0.3),
    ]);
    rows.push_row([(v(2), -1.0), (v(3), 0.5)]);
    rows.push_row([]);
    assert_sound(&one_node(NodeKind::Linear { rows, bias: vec![0.1, -0.2, 0.3] }));
}

#[test]
fn op_linear_integral_is_sound() {
    let mut rows = SparseRows::new();
    rows.push_row([(v(0), 1.0), (v(1), -1.0)]);
    rows.push_row([(v(2), 1.0), (v(3), 1.0), (v(0), 2.0)]);
    assert_sound(&one_node(NodeKind::Linear { rows, bias: vec![0.0, 0.25] }));
}

#[test]
fn op_mul_is_sound() {
    assert_sound(&one_node(NodeKind::Mul {
        a: vec![v(0), v(1), v(2)],
        b: vec![v(3), v(1), Src::Zero],
    }));
}

#[test]
fn op_relu_is_sound() {
    assert_sound(&one_node(NodeKind::Act {
        input: (0..4).map(v).collect(),
        act: Activation::Relu,
    }));
}

#[test]
fn op_sigmoid_is_sound() {
    assert_sound(&one_node(NodeKind::Act {
        input: (0..4).map(v).collect(),
        act: Activation::Sigmoid,
    }));
}

#[test]
fn op_leaky_relu_is_sound() {
    let act = Activation::LeakyRelu { alpha: 0.1 };
    assert_sound(&one_node(NodeKind::Act { input: (0..4).map(v).collect(), act }));
}

#[test]
fn op_max_is_sound() {
    let windows = vec![vec![v(0), v(1), v(2), v(3)], vec![v(3), Src::Zero], vec![v(2)]];
    assert_sound(&one_node(NodeKind::Max { windows }));
}

#[test]
fn data_movement_only_is_sound() {
    let mut g = one_node(NodeKind::Act { input: vec![], act: Activation::Relu });
    g.nodes.clear();
    g.outputs[0].srcs = vec![v(3), v(1), Src::Zero, v(3)];
    assert_sound(&g);
}

#[test]
fn whole_tiny_model_is_sound() {
    assert_sound(&tiny_graph());
}

#[test]
fn wrong_instance_fails() {
    let q = quantize(&tiny_graph(), SETTINGS).expect("quantize");
    let p = plan(&q, 11).expect("plan");
    let honest = layouts(&q, &p).remove(0);
    for i in [instance::IN_COMMIT, instance::OUT_COMMIT, instance::NUM_OUTPUTS, instance::OUTPUT0] {
        let mut bad = honest.clone();
        bad.instances[i] += Fr::ONE;
        assert!(mock(p.k, &bad).is_err(), "instance {i} not bound");
    }
}

/// A linear node whose weights need a finer scale than the values' (a mean and a small
/// weight), so its remainder spans three limbs with a narrow top one.
fn wide_rescale_graph() -> Graph {
    let mut rows = SparseRows::new();
    rows.push_row((0..4).map(|i| (v(i), 0.0123)));
    rows.push_row([(v(0), 0.71), (v(1), -0.0009), (v(3), 0.5)]);
    one_node(NodeKind::Linear { rows, bias: vec![0.05, -0.3] })
}

#[test]
fn small_weights_get_a_finer_scale_with_an_exact_remainder_range() {
    let q = quantize(&wide_rescale_graph(), SETTINGS).expect("quantize");
    let QKind::Linear { shift, .. } = &q.nodes[0].kind else { panic!("linear") };
    // L - 1 + log2(4) = 9: two limbs of 4 bits and a 1-bit top limb.
    assert_eq!(*shift, 9);
    assert_eq!(super::layout::cost::remainder_limbs(*shift, SETTINGS.scale_bits), 3);
    assert_eq!(super::layout::cost::remainder_checks(*shift, SETTINGS.scale_bits), 3);
    assert_sound(&wide_rescale_graph());
}

/// Layouts of a model whose every rescale went through `forge`.
fn forged_layouts(q: &QModel, p: &ShardPlan, forge: super::layout::Forge) -> Vec<Layout> {
    let trace = q.eval(&q.quantize_inputs(&inputs()).expect("inputs")).expect("eval");
    p.shards
        .iter()
        .map(|s| {
            let vals: Vec<i64> = s.inputs.iter().map(|id| trace.values[*id as usize]).collect();
            super::layout::build_forged(q, s, &vals, Fr::from(42u64), forge).expect("layout")
        })
        .collect()
}

/// `(y, r) -> (y - 1, r + 2^shift)`: the rescale equation still holds, the remainder is
/// one past its range (and the activation output follows the forged `y`).
fn shift_down(
    q: &mut crate::quant::semantics::Requant,
    shift: u32,
    act: Activation,
    limbs: &mut Vec<i64>,
) {
    if shift == 0 {
        return;
    }
    q.y -= 1;
    q.out = crate::quant::semantics::apply(act, q.y, SETTINGS.scale_bits);
    q.r += 1 << shift;
    *limbs = super::layout::cost::split_remainder(q.r, limbs.len(), SETTINGS.scale_bits);
}

/// The tiny model with every node at the scale its values fit at on [`inputs`].
fn per_node_scaled() -> QModel {
    let g = tiny_graph();
    let ranges = ValueRanges::measure(&g, &[inputs()]).expect("ranges");
    quantize_with_ranges(&g, SETTINGS, &ranges, 2.0).expect("quantize")
}

#[test]
fn per_node_scales_are_sound() {
    let q = per_node_scaled();
    // The case this covers: scales that differ, a product rescaled by other than the
    // settings' scale, and rescale nodes that align operands.
    let scales: Vec<u32> = q.nodes.iter().map(|n| n.scale).collect();
    assert!(scales.iter().any(|e| *e != SETTINGS.scale_bits), "{scales:?}");
    assert!(
        q.nodes
            .iter()
            .any(|n| matches!(n.kind, QKind::Mul { shift, .. } if shift != SETTINGS.scale_bits)),
        "{:?}",
        q.nodes
    );
    assert!(q.nodes.iter().any(|n| n.op.starts_with("Rescale")), "{:?}", q.nodes);
    assert_sound_model(&q);
}

/// Every model with rescales: a linear node of small weights (three limbs, narrow top), the
/// tiny model (rescale at the value scale, one limb), a product, and the tiny model at
/// per-node scales (rescales by other shifts, alignment rescales).
fn rescaling_models() -> Vec<(&'static str, QModel)> {
    let q = |g: Graph| quantize(&g, SETTINGS).expect("quantize");
    vec![
        ("wide rescale", q(wide_rescale_graph())),
        ("tiny model", q(tiny_graph())),
        ("mul", q(one_node(NodeKind::Mul { a: vec![v(0), v(1)], b: vec![v(2), v(3)] }))),
        ("per-node scales", per_node_scaled()),
    ]
}

fn assert_forgery_rejected(forge: super::layout::Forge, what: &str) {
    for (name, q) in rescaling_models() {
        let p = plan(&q, 11).expect("plan");
        for l in forged_layouts(&q, &p, |_, _, _, _| {}) {
            mock(p.k, &l).expect("the identity forgery is the honest witness");
        }
        for l in forged_layouts(&q, &p, forge) {
            assert!(mock(p.k, &l).is_err(), "{name}: {what} accepted");
        }
    }
}

#[test]
fn forged_rescale_one_remainder_past_its_range_is_rejected() {
    // The activation output follows the forged y, and so does everything downstream.
    assert_forgery_rejected(shift_down, "(y-1, r+2^shift)");
}

#[test]
fn forged_limb_below_zero_compensated_by_the_next_is_rejected() {
    assert_forgery_rejected(
        |_, _, _, limbs| {
            if limbs.len() >= 2 {
                limbs[0] -= 1 << SETTINGS.scale_bits;
                limbs[1] += 1;
            } else if let Some(l) = limbs.first_mut() {
                *l += 1 << SETTINGS.scale_bits;
            }
        },
        "a limb out of range",
    );
}

#[test]
fn forged_limb_breaking_the_recomposition_is_rejected() {
    assert_forgery_rejected(
        |_, _, _, limbs| {
            if let Some(l) = limbs.last_mut() {
                *l += 1;
            }
        },
        "a wrong recomposition",
    );
}
