//! MockProver tests of the shard circuit: honest witnesses pass, tampered ones fail.

use std::sync::Arc;

use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::halo2curves::ff::Field;

use super::config::{fixed as f, Z};
use super::layout::{build, Layout};
use super::{fe, instance, ShardCircuit};
use crate::model::graph::{
    Activation, ElemType, Graph, Node, NodeKind, OutputTensor, SparseRows, Src, TensorInfo,
};
use crate::quant::scales::ValueRanges;
use crate::quant::{quantize, quantize_with_ranges, QKind, QModel, QuantSettings};
use crate::shard::boundary::{link_commitment, link_salt, Salts};
use crate::shard::plan::{plan, ShardPlan};

const SETTINGS: QuantSettings = QuantSettings::narrow(4, 8);

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
        inputs: vec![TensorInfo { name: "x".into(), shape: vec![1, 4], ..Default::default() }],
        nodes,
        outputs: vec![OutputTensor {
            info: TensorInfo { name: "y".into(), shape: vec![5], ..Default::default() },
            srcs: vec![v(14), v(15), v(16), v(17), Src::Zero],
        }],
        index_checks: Vec::new(),
    }
}

fn inputs() -> Vec<Vec<f64>> {
    vec![vec![0.7, -1.3, 0.4, -0.9]]
}

/// Input salt and link seed of the test layouts.
const SALT: u64 = 42;
const SEED: u64 = 43;

fn salts(p: &ShardPlan, shard: usize) -> Salts {
    Salts::of_shard(shard, p.shards.len(), Fr::from(SALT), Fr::from(SEED))
}

fn layouts(q: &QModel, p: &ShardPlan) -> Vec<Layout> {
    let trace = q.eval(&q.quantize_inputs(&inputs()).expect("inputs")).expect("eval");
    p.shards
        .iter()
        .map(|s| {
            let vals: Vec<i64> = s.inputs.iter().map(|id| trace.values[*id as usize]).collect();
            build(q, s, &vals, salts(p, s.index)).expect("layout")
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
    let descriptor = instance::descriptor(expect.len(), q.output_scale()).expect("fits");
    assert_eq!(last.instances[instance::DESCRIPTOR], Fr::from(descriptor));
    assert!(ls[..ls.len() - 1].iter().all(|l| l.instances[instance::DESCRIPTOR] == Fr::ZERO));
    assert_eq!(&last.instances[instance::OUTPUT0..instance::OUTPUT0 + expect.len()], &expect[..]);

    // Native commitments agree with the circuit's.
    let inputs_q = q.quantize_inputs(&inputs()).expect("inputs");
    let input_commit =
        crate::shard::boundary::input_commitment(&inputs_q, SETTINGS.lookup_bits, Fr::from(SALT));
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

#[test]
fn every_link_between_shards_is_salted_with_its_own_salt() {
    let q = quantize(&tiny_graph(), SETTINGS).expect("quantize");
    let p = crate::shard::plan::plan_with_budget(&q, 11, 150).expect("plan");
    let n = p.shards.len();
    assert!(n >= 3, "{n} shards: a middle shard is needed");
    let ls = layouts(&q, &p);
    let trace = q.eval(&q.quantize_inputs(&inputs()).expect("inputs")).expect("eval");
    let bits = SETTINGS.lookup_bits;
    for b in 1..n {
        let cut: Vec<i64> =
            p.shards[b].inputs.iter().map(|id| trace.values[*id as usize]).collect();
        let link = ls[b].instances[instance::IN_COMMIT];
        assert_eq!(ls[b - 1].instances[instance::OUT_COMMIT], link, "link {b} chains");
        // The circuit's link is the native salted commitment, under this link's salt...
        assert_eq!(link, link_commitment(&cut, bits, link_salt(Fr::from(SEED), b)));
        // ...and no commitment anyone could recompute from the values alone.
        assert_ne!(link, crate::shard::boundary::boundary_commitment(&cut, bits));
        assert_ne!(link, link_commitment(&cut, bits, Fr::ZERO));
        assert_ne!(link, link_commitment(&cut, bits, Fr::from(SALT)));
    }
    let distinct: std::collections::HashSet<[u8; 32]> =
        (1..n).map(|b| link_salt(Fr::from(SEED), b).to_bytes()).collect();
    assert_eq!(distinct.len(), n - 1, "link salts repeat");

    // Another seed changes every link, but not the input commitment or the outputs'.
    let other: Vec<Layout> = p
        .shards
        .iter()
        .map(|s| {
            let vals: Vec<i64> = s.inputs.iter().map(|id| trace.values[*id as usize]).collect();
            let salts = Salts::of_shard(s.index, n, Fr::from(SALT), Fr::from(SEED + 1));
            build(&q, s, &vals, salts).expect("layout")
        })
        .collect();
    assert_eq!(other[0].instances[instance::IN_COMMIT], ls[0].instances[instance::IN_COMMIT]);
    assert_eq!(
        other[n - 1].instances[instance::OUT_COMMIT],
        ls[n - 1].instances[instance::OUT_COMMIT]
    );
    for b in 1..n {
        assert_ne!(other[b].instances[instance::IN_COMMIT], ls[b].instances[instance::IN_COMMIT]);
    }

    // A shard proven under another salt satisfies its own circuit, but its link no longer
    // matches its neighbour's: the chain check (native and in the aggregation) refuses it.
    let mut wrong = salts(&p, 1);
    wrong.input += Fr::ONE;
    let vals: Vec<i64> = p.shards[1].inputs.iter().map(|id| trace.values[*id as usize]).collect();
    let forged = build(&q, &p.shards[1], &vals, wrong).expect("layout");
    mock(p.k, &forged).expect("any salt satisfies the shard's own circuit");
    assert_ne!(forged.instances[instance::IN_COMMIT], ls[0].instances[instance::OUT_COMMIT]);

    // In a middle shard, both salt cells and every other cell are bound to the instances,
    // alone or together.
    assert_every_cell_bound(p.k, &ls[1]);
    let salt_cells: Vec<(usize, usize)> = (0..ls[1].advice.len())
        .flat_map(|c| (0..ls[1].advice[c].len()).map(move |r| (c, r)))
        .filter(|&(c, r)| {
            let x = ls[1].advice[c][r];
            x == link_salt(Fr::from(SEED), 1) || x == link_salt(Fr::from(SEED), 2)
        })
        .collect();
    // Each salt sits in its absorb row and in the state of the round after it.
    assert!(salt_cells.len() >= 2, "salt cells not found");
    let mut both = ls[1].clone();
    for &(c, r) in &salt_cells {
        both.advice[c][r] += Fr::ONE;
    }
    assert!(mock(p.k, &both).is_err(), "both salts changed together went unnoticed");
}

/// A graph of one node over inputs `x0..x3`, outputs all of the node's values.
fn one_node(kind: NodeKind) -> Graph {
    let n = kind.len();
    Graph {
        inputs: vec![TensorInfo { name: "x".into(), shape: vec![4], ..Default::default() }],
        nodes: vec![Node { name: "op".into(), op: "Op".into(), first: 4, kind }],
        outputs: vec![OutputTensor {
            info: TensorInfo { name: "y".into(), shape: vec![n], ..Default::default() },
            srcs: (4..4 + n as u32).map(v).collect(),
        }],
        index_checks: Vec::new(),
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
    assert_every_cell_bound(p.k, &honest);
}

/// The honest witness passes, and every non-zero advice cell changed by one fails.
fn assert_every_cell_bound(k: u32, honest: &Layout) {
    mock(k, honest).expect("honest witness satisfies");
    let mut checked = 0;
    for col in 0..honest.advice.len() {
        for row in 0..honest.advice[col].len() {
            if bool::from(honest.advice[col][row].is_zero()) {
                continue;
            }
            let mut bad = honest.clone();
            bad.advice[col][row] += Fr::ONE;
            assert!(mock(k, &bad).is_err(), "tampering advice[{col}][{row}] went unnoticed");
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

/// Sums of products, accumulated a product a row through the chain term: every cell bound,
/// and the whole accumulator chain of an output moved by one (each row then off by one at
/// its start or its end) rejected.
#[test]
fn op_dot_is_sound() {
    let g = one_node(NodeKind::Dot {
        a: vec![v(0), v(1), v(2), v(3), Src::Zero, v(1)],
        b: vec![v(3), v(1), v(0), v(2), v(2), v(1)],
        terms: 3,
    });
    assert_sound(&g);
    let q = quantize(&g, SETTINGS).expect("quantize");
    let p = plan(&q, 11).expect("plan");
    let honest = layouts(&q, &p).remove(0);
    let dot_rows: Vec<usize> = (0..honest.fixed[f::M].len())
        .filter(|&r| honest.fixed[f::M][r] == Fr::ONE && honest.fixed[f::Q_Z][r] == -Fr::ONE)
        .collect();
    assert_eq!(dot_rows.len(), 6, "one row per product");
    let mut moved = honest.clone();
    for &r in &dot_rows[..3] {
        moved.advice[Z][r] += Fr::ONE;
    }
    assert!(mock(p.k, &moved).is_err(), "an accumulator chain moved by one was accepted");
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

/// The tabulated functions of issue 16: each output is a table row of its input. They share
/// one lookup; the PR tier checks a bounded, an unbounded and a piecewise one, the full tier
/// every one.
#[test]
fn op_tabulated_functions_are_sound() {
    for act in [Activation::Tanh, Activation::Exp, Activation::Elu { alpha: 1.0 }] {
        assert_sound(&one_node(NodeKind::Act { input: (0..4).map(v).collect(), act }));
    }
}

#[test]
#[ignore = "full tier (scripts/test.sh --full)"]
fn op_every_tabulated_function_is_sound() {
    for act in [
        Activation::Erf,
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Silu,
        Activation::Softplus,
        Activation::Elu { alpha: 0.3 },
        Activation::Floor,
        Activation::Ceil,
        Activation::Round,
        Activation::Trunc,
        Activation::Sign,
        Activation::HardSwish,
        Activation::Pow { p: 3.0 },
        Activation::Sin,
        Activation::Atan,
        Activation::Cosh,
    ] {
        assert_sound(&one_node(NodeKind::Act { input: (0..4).map(v).collect(), act }));
    }
}

/// Comparisons are step functions of a difference: `[x > 0]` and `[x >= 0]` by table.
#[test]
fn op_comparisons_are_sound() {
    for act in [Activation::Positive, Activation::NonNegative] {
        assert_sound(&one_node(NodeKind::Act { input: (0..4).map(v).collect(), act }));
    }
}

/// A comparison's forgeries: each 0/1 output flipped alone (the zeros are out of reach of
/// the +1 tampering of `assert_sound`), all flipped together, and every input negated with
/// its output moved to the matching row (a valid table row that does not match the copied
/// input). All are rejected.
#[test]
fn comparison_outputs_forged_fail() {
    for act in [Activation::Positive, Activation::NonNegative] {
        let q =
            quantize(&one_node(NodeKind::Act { input: (0..4).map(v).collect(), act }), SETTINGS)
                .expect("quantize");
        let p = plan(&q, 11).expect("plan");
        let honest = layouts(&q, &p).remove(0);
        let tag = super::table::Tables { identity: true, acts: vec![act] }.tag(act);
        let rows: Vec<usize> = (0..honest.fixed[super::config::fixed::TAG_B].len())
            .filter(|r| honest.fixed[super::config::fixed::TAG_B][*r] == Fr::from(tag))
            .collect();
        assert_eq!(rows.len(), 4, "{act:?}: one lookup row per value");
        let one = 1i64 << SETTINGS.scale_bits;
        let xs = q.quantize_inputs(&inputs()).expect("inputs");
        let step = |y: i64| crate::quant::semantics::apply(act, y, SETTINGS.scale_bits);
        let mut all_flipped = honest.clone();
        let mut both = honest.clone();
        for (&r, x) in rows.iter().zip(&xs) {
            let out = step(*x).expect("row");
            assert_eq!(honest.advice[3][r], fe(out), "{act:?}: the output cell");
            let mut flipped = honest.clone();
            flipped.advice[3][r] = fe(one - out);
            assert!(mock(p.k, &flipped).is_err(), "{act:?}: output of {x} flipped accepted");
            all_flipped.advice[3][r] = fe(one - out);
            both.advice[0][r] = fe(-x);
            both.advice[3][r] = fe(step(-x).expect("row"));
        }
        assert!(mock(p.k, &all_flipped).is_err(), "{act:?}: all outputs flipped accepted");
        assert!(mock(p.k, &both).is_err(), "{act:?}: negated inputs with their rows accepted");
    }
}

/// `x + 1.5 > 0` on the test inputs, then `f` of it: for functions defined on positives.
fn positive_then(act: Activation) -> Graph {
    let mut rows = SparseRows::new();
    for i in 0..4 {
        rows.push_row([(v(i), 1.0)]);
    }
    let mut g = one_node(NodeKind::Linear { rows, bias: vec![1.5; 4] });
    g.nodes.push(Node {
        name: "f".into(),
        op: format!("{act:?}"),
        first: 8,
        kind: NodeKind::Act { input: (4..8).map(v).collect(), act },
    });
    g.outputs[0].srcs = (8..12).map(v).collect();
    g
}

#[test]
fn op_ln_and_sqrt_are_sound() {
    assert_sound(&positive_then(Activation::Pow { p: -0.1 }));
    assert_sound(&positive_then(Activation::Ln));
    assert_sound(&positive_then(Activation::Sqrt));
    assert_sound(&positive_then(Activation::SqrtEps { eps: 1e-5 }));
}

/// Several cells at once: every activation output moved to another row of the same table
/// (`f(y+1)`), and every input and output moved together (`y+1, f(y+1)`, a valid row that
/// does not match the copied input). Both are rejected.
#[test]
fn tabulated_outputs_forged_to_other_table_rows_fail() {
    for act in [Activation::Tanh, Activation::Erf, Activation::Softplus] {
        let q =
            quantize(&one_node(NodeKind::Act { input: (0..4).map(v).collect(), act }), SETTINGS)
                .expect("quantize");
        let p = plan(&q, 11).expect("plan");
        let honest = layouts(&q, &p).remove(0);
        let tag = super::table::Tables { identity: true, acts: vec![act] }.tag(act);
        let rows: Vec<usize> = (0..honest.fixed[super::config::fixed::TAG_B].len())
            .filter(|r| honest.fixed[super::config::fixed::TAG_B][*r] == Fr::from(tag))
            .collect();
        assert_eq!(rows.len(), 4, "{act:?}: one lookup row per value");
        let xs = q.quantize_inputs(&inputs()).expect("inputs");
        let mut outputs_only = honest.clone();
        let mut both = honest.clone();
        for (&r, x) in rows.iter().zip(&xs) {
            assert_eq!(honest.advice[0][r], fe(*x), "{act:?}: the input cell");
            let y = x + 1;
            let f = crate::quant::semantics::apply(act, y, SETTINGS.scale_bits).expect("row");
            outputs_only.advice[3][r] = fe(f);
            both.advice[0][r] = fe(y);
            both.advice[3][r] = fe(f);
        }
        assert!(mock(p.k, &outputs_only).is_err(), "{act:?}: forged outputs accepted");
        assert!(mock(p.k, &both).is_err(), "{act:?}: forged input/output pairs accepted");
    }
}

/// `x_j / (x_j + 1.5)` on the test inputs: numerators of both signs, positive denominators.
fn division_graph() -> Graph {
    let mut rows = SparseRows::new();
    for i in 0..4 {
        rows.push_row([(v(i), 1.0)]);
    }
    let mut g = one_node(NodeKind::Linear { rows, bias: vec![1.5; 4] });
    g.nodes.push(Node {
        name: "div".into(),
        op: "Div".into(),
        first: 8,
        kind: NodeKind::Div { a: (0..4).map(v).collect(), b: (4..8).map(v).collect() },
    });
    g.outputs[0].srcs = (8..12).map(v).collect();
    g
}

#[test]
fn op_div_is_sound() {
    assert_sound(&division_graph());
}

/// ONNX integer division by constants of both signs, odd and even.
fn integer_division_graph(c: Vec<i64>) -> Graph {
    one_node(NodeKind::IntDiv { a: (0..4).map(v).collect(), c })
}

#[test]
fn op_integer_division_truncates_exactly_and_is_sound() {
    // Divisors of both signs, odd and even, up to the largest the scale keeps exact (2^4).
    for c in [vec![3, -3, 7, 2], vec![16, -16, 15, 1]] {
        let g = integer_division_graph(c.clone());
        let q = quantize(&g, SETTINGS).expect("quantize");
        // Every numerator the domain holds at this scale (|a| < 2^(8-1-4)), in every lane.
        for a in -7i64..=7 {
            let x = vec![vec![a as f64; 4]];
            let trace = q.eval(&q.quantize_inputs(&x).expect("inputs")).expect("eval");
            let got: Vec<f64> =
                q.outputs_q(&trace).into_iter().map(|y| SETTINGS.dequantize(y)).collect();
            let want: Vec<f64> = c.iter().map(|d| (a as f64 / *d as f64).trunc()).collect();
            assert_eq!(got, want, "{a} / {c:?}");
            assert_eq!(got, g.gather_outputs(&g.eval_f64(&x))[0], "float graph disagrees at {a}");
        }
        assert_sound(&g);
    }
    // 2^4 + 1 is refused by name, as is zero.
    for c in [vec![17, 1, 1, 1], vec![1, -17, 1, 1], vec![1, 0, 1, 1]] {
        match quantize(&integer_division_graph(c.clone()), SETTINGS) {
            Err(crate::error::ProverError::Settings(_)) => {}
            other => panic!("divisors {c:?}: {other:?}"),
        }
    }
}

/// `trunc(a / b)` of two integer tensors as the import lowers it: `[b > 0]` by the step
/// table, the sign `2 [b > 0] - 1` onto numerator and divisor, a division by `|b|`. Inputs
/// `a` (values 0..4) and `b` (4..8); `out` picks what the model shows.
fn integer_division_by_tensor_graph(out: std::ops::Range<u32>) -> Graph {
    let ids = |r: std::ops::Range<u32>| r.map(v).collect::<Vec<_>>();
    let int = |name: &str| TensorInfo {
        name: name.into(),
        shape: vec![4],
        elem: ElemType::Integer,
        ..Default::default()
    };
    let mut sign = SparseRows::new();
    for j in 0..4 {
        sign.push_row([(v(8 + j), 2.0)]);
    }
    let node =
        |name: &str, first: u32, kind| Node { name: name.into(), op: "Div".into(), first, kind };
    Graph {
        inputs: vec![int("a"), int("b")],
        nodes: vec![
            node("positive", 8, NodeKind::Act { input: ids(4..8), act: Activation::Positive }),
            node("sign", 12, NodeKind::Linear { rows: sign, bias: vec![-1.0; 4] }),
            node("numerator", 16, NodeKind::Mul { a: ids(0..4), b: ids(12..16) }),
            node("divisor", 20, NodeKind::Mul { a: ids(4..8), b: ids(12..16) }),
            node("div", 24, NodeKind::IntDivBy { a: ids(16..20), b: ids(20..24) }),
        ],
        outputs: vec![OutputTensor { info: int("q"), srcs: ids(out) }],
        index_checks: Vec::new(),
    }
}

/// The single shard's layout of `q` on `inputs`, built leniently (zeros where the honest
/// witness generator would stop) or strictly.
fn layout_on(q: &QModel, inputs: &[Vec<f64>], lenient: bool) -> (u32, Result<Layout, String>) {
    // Rows for the tables (several of 2^(lookup_bits - 1) rows) and the gates.
    let p = plan(q, q.settings.lookup_bits + 3).expect("plan");
    assert_eq!(p.shards.len(), 1);
    let quantized = q.quantize_inputs(inputs).expect("inputs");
    let spec = &p.shards[0];
    let vals: Vec<i64> = spec.inputs.iter().map(|id| quantized[*id as usize]).collect();
    let built = if lenient {
        super::layout::build_lenient(q, spec, &vals, salts(&p, 0))
    } else {
        build(q, spec, &vals, salts(&p, 0))
    };
    (p.k, built.map_err(|e| format!("{e}")))
}

/// For a graph the importer composed of existing gadgets (scatters and ND gathers at input
/// indices: index steps, products, linear rows), quantized at [`SETTINGS`]: the honest
/// witness passes, every non-zero advice cell changed by one fails, and every index step
/// flipped at once (each hit moved off its entry, several cells together) fails.
pub(crate) fn assert_lowering_sound(graph: &Graph, inputs: &[Vec<f64>]) {
    let q = quantize(graph, SETTINGS).expect("quantize");
    let (k, honest) = layout_on(&q, inputs, false);
    let honest = honest.expect("honest layout");
    assert_every_cell_bound(k, &honest);
    let p = plan(&q, q.settings.lookup_bits + 3).expect("plan");
    let tag = super::layout::shard_tables(&q, &p.shards[0]).tag(Activation::NonNegative);
    let rows: Vec<usize> = (0..honest.fixed[f::TAG_B].len())
        .filter(|r| honest.fixed[f::TAG_B][*r] == Fr::from(tag))
        .collect();
    assert!(rows.len() > 1, "{} index steps", rows.len());
    let one = Fr::from(1u64 << q.settings.scale_bits);
    let mut flipped = honest.clone();
    for r in rows {
        flipped.advice[3][r] = one - flipped.advice[3][r];
    }
    assert!(mock(k, &flipped).is_err(), "every index step flipped accepted");
}

/// Rewrites every division row of `l` with the quotient `q` (the remainder that keeps the
/// division's equation true over the field, the truncation table's output for `q`); the
/// rows stay satisfied gate by gate, so only the division's range checks can reject.
fn force_quotients(l: &mut Layout, q: i64, s: u32) {
    use super::config::fixed as fx;
    let rows: Vec<usize> =
        (0..l.fixed[fx::M].len()).filter(|r| l.fixed[fx::M][*r] == -Fr::from(2u64)).collect();
    assert_eq!(rows.len(), 4, "one division row per output");
    for r in rows {
        let (b, a, k) = (l.advice[1][r], l.advice[2][r], l.fixed[fx::C0 + 2][r]);
        let rem = k * a + b - Fr::from(2u64) * fe(q) * b;
        let out = crate::quant::semantics::apply(Activation::Trunc, q, s).expect("trunc");
        l.advice[0][r] = fe(q);
        l.advice[3][r] = fe(out);
        l.advice[4][r] = rem;
        l.advice[0][r + 1] = rem;
        l.advice[3][r + 1] = rem;
        l.advice[1][r + 1] = Fr::from(2u64) * b - Fr::ONE - rem;
    }
}

/// Integer division by a tensor is exact over every numerator and divisor the domain holds
/// (both signs), its witness is bound cell by cell, a zero divisor and one too large to
/// truncate exactly are named errors, and a witness that claims the wrong quotient a large
/// divisor would round to is rejected by the circuit itself.
#[test]
fn op_integer_division_by_a_tensor_truncates_exactly_and_is_sound() {
    let g = integer_division_by_tensor_graph(24..28);
    let q = quantize(&g, SETTINGS).expect("quantize");
    // |x| < 2^(8-1-4) at this scale: every numerator and divisor the inputs can hold.
    for a in -7i64..=7 {
        for b in (-7i64..=7).filter(|b| *b != 0) {
            let x = vec![vec![a as f64, -a as f64, a as f64, -a as f64], vec![b as f64; 4]];
            let trace = q.eval(&q.quantize_inputs(&x).expect("inputs")).expect("eval");
            let got: Vec<f64> =
                q.outputs_q(&trace).into_iter().map(|y| SETTINGS.dequantize(y)).collect();
            let t = (a as f64 / b as f64).trunc();
            assert_eq!(got, vec![t, -t, t, -t], "{a} / {b}");
            assert_eq!(got, g.gather_outputs(&g.eval_f64(&x))[0], "float graph at {a} / {b}");
        }
    }
    let x = vec![vec![7.0, -7.0, 5.0, -6.0], vec![2.0, 3.0, -4.0, -5.0]];
    let (k, honest) = layout_on(&q, &x, false);
    assert_every_cell_bound(k, &honest.expect("honest layout"));
    let zero = vec![vec![7.0; 4], vec![2.0, 0.0, 2.0, 2.0]];
    match q.eval(&q.quantize_inputs(&zero).expect("inputs")) {
        Err(crate::error::ProverError::OutOfDomain { function, .. }) => {
            assert!(function.contains("denominator"), "{function}")
        }
        other => panic!("a zero divisor: {other:?}"),
    }

    // At 2^2 a divisor up to 4 is exact; 8 = 2^(s+1) would make 7 / 8 round to 1. Narrow,
    // the divisor's own lookup holds it; wide, the division's range check alone.
    for st in
        [QuantSettings::narrow(2, 10), QuantSettings { wide: true, ..QuantSettings::narrow(2, 10) }]
    {
        let g = integer_division_by_tensor_graph(20..24);
        let q = quantize(&g, st).expect("quantize");
        for (b, divisor) in [(5.0, 5), (8.0, 8)] {
            let large = vec![vec![7.0; 4], vec![b, -b, 2.0, 2.0]];
            match q.eval(&q.quantize_inputs(&large).expect("inputs")) {
                Err(crate::error::ProverError::IntegerDivisor { divisor: d, need: 3, .. })
                    if d == divisor => {}
                other => panic!("a divisor of {b} at 2^2 (wide {}): {other:?}", st.wide),
            }
            let (_, strict) = layout_on(&q, &large, false);
            assert!(strict.is_err(), "a divisor of {b} laid out (wide {})", st.wide);
        }
        // The same forgery on an exact divisor is the honest witness, and passes: 7 / 4 at
        // 2^2 is 7. On 8 it claims round(7 / 8 at 2^2) = 4, trunc 1, where 0 is right.
        let (k, exact) = layout_on(&q, &[vec![7.0; 4], vec![4.0; 4]], true);
        let mut exact = exact.expect("lenient layout");
        let copy = exact.clone();
        force_quotients(&mut exact, 7, 2);
        assert!(exact.advice == copy.advice, "the forgery rewrote an honest quotient");
        mock(k, &exact).expect("the honest quotient passes");
        let (k, wrong) = layout_on(&q, &[vec![7.0; 4], vec![8.0; 4]], true);
        let mut wrong = wrong.expect("lenient layout");
        force_quotients(&mut wrong, 4, 2);
        assert!(mock(k, &wrong).is_err(), "7 / 8 proven as 1 (wide {})", st.wide);
    }

    // Quotient and remainder changed together, (q, r) -> (q - 1, r + 2b): the equation holds,
    // the remainder's range check does not.
    let q = quantize(&integer_division_by_tensor_graph(20..24), QuantSettings::narrow(2, 10))
        .expect("quantize");
    let (k, honest) = layout_on(&q, &[vec![7.0, -7.0, 5.0, 3.0], vec![3.0, 2.0, -4.0, 1.0]], false);
    let honest = honest.expect("honest layout");
    mock(k, &honest).expect("honest");
    let mut lower = honest.clone();
    let rows: Vec<usize> =
        (0..lower.fixed[f::M].len()).filter(|r| lower.fixed[f::M][*r] == -Fr::from(2u64)).collect();
    for r in rows {
        let (b, rem) =
            (lower.advice[1][r], lower.advice[4][r] + Fr::from(2u64) * lower.advice[1][r]);
        let q1 = lower.advice[0][r] - Fr::ONE;
        let out = crate::quant::semantics::apply(Activation::Trunc, small(q1), 2).expect("trunc");
        lower.advice[0][r] = q1;
        lower.advice[3][r] = fe(out);
        lower.advice[4][r] = rem;
        lower.advice[0][r + 1] = rem;
        lower.advice[3][r + 1] = rem;
        lower.advice[1][r + 1] = Fr::from(2u64) * b - Fr::ONE - rem;
    }
    assert!(mock(k, &lower).is_err(), "(q - 1, r + 2b) accepted");
}

/// Small integer of a field element (the test's values lie in `[-2^16, 2^16)`).
fn small(f: Fr) -> i64 {
    (-(1i64 << 16)..1 << 16).find(|v| fe(*v) == f).expect("a small value")
}

/// Every division of the shard forged at once, two ways that keep its equation
/// `2bq + r = 2^(shift+1) a + b` true over the field: another remainder in `[0, 2b)` with
/// the field's quotient for it (not a small integer: only its lookup can fail), and the next
/// lower integer quotient with a remainder past `2b` (only the remainder's check can fail).
/// The quotients are read by nothing (the model outputs the denominators), so no commitment
/// or public output changes with them: each rejection is the division's own check.
#[test]
fn forged_divisions_fail() {
    use super::config::fixed as fx;
    let mut g = division_graph();
    g.outputs[0].srcs = (4..8).map(v).collect();
    let q = quantize(&g, SETTINGS).expect("quantize");
    let p = plan(&q, 11).expect("plan");
    let honest = layouts(&q, &p).remove(0);
    mock(p.k, &honest).expect("honest witness satisfies");
    let rows: Vec<usize> = (0..honest.fixed[fx::M].len())
        .filter(|r| honest.fixed[fx::M][*r] == -Fr::from(2u64))
        .collect();
    assert_eq!(rows.len(), 4, "one division row per output");
    let two = Fr::from(2u64);
    let mut other_remainder = honest.clone();
    let mut lower_quotient = honest.clone();
    for &r in &rows {
        let (b, a, k) = (honest.advice[1][r], honest.advice[2][r], honest.fixed[fx::C0 + 2][r]);
        let (bi, ri) = (small(b), small(honest.advice[4][r]));
        // Another remainder in [0, 2b), and the field quotient that satisfies the equation.
        let r2 = if ri + 1 < 2 * bi { ri + 1 } else { ri - 1 };
        let q2 = (k * a + b - fe(r2)) * (two * b).invert().expect("b != 0");
        for (l, q, rem) in [
            (&mut other_remainder, q2, r2),
            (&mut lower_quotient, honest.advice[0][r] - Fr::ONE, ri + 2 * bi),
        ] {
            l.advice[0][r] = q;
            l.advice[3][r] = q;
            l.advice[4][r] = fe(rem);
            l.advice[0][r + 1] = fe(rem);
            l.advice[3][r + 1] = fe(rem);
            l.advice[1][r + 1] = fe(2 * bi - 1 - rem);
            // The equations still hold, so only the lookups can reject.
            let lhs = -two * l.advice[0][r] * b + b + k * a - l.advice[4][r];
            assert_eq!(lhs, Fr::ZERO, "the forged row satisfies the division gate");
        }
    }
    assert!(mock(p.k, &other_remainder).is_err(), "a non-integer quotient was accepted");
    assert!(mock(p.k, &lower_quotient).is_err(), "a remainder past 2b was accepted");
}

#[test]
fn undefined_inputs_have_no_table_row() {
    let st = QuantSettings::narrow(4, 8);
    let sqrt_eps = Activation::SqrtEps { eps: 1e-5 };
    let tables = super::table::Tables {
        identity: true,
        acts: vec![Activation::Ln, Activation::Sqrt, sqrt_eps],
    };
    let entries = tables.entries(&st);
    assert_eq!(entries.len(), tables.rows(&st));
    for act in [Activation::Ln, Activation::Sqrt, sqrt_eps] {
        let t = Fr::from(tables.tag(act));
        let inputs: Vec<Fr> = entries
            .iter()
            .filter(|e| e[0] == t)
            .map(|e| e[1] * t.invert().expect("non-zero tag"))
            .collect();
        assert!(!inputs.contains(&fe(-1)), "{act:?} has a row at -1");
        assert_eq!(inputs.contains(&fe(0)), act != Activation::Ln, "{act:?} at 0");
        assert!(inputs.contains(&fe(1)));
    }
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

/// A model with more outputs than the public slots: the last shard shows none (count 0 in
/// its descriptor, the scale still there) and commits to all of them; the commitment is what
/// the aggregation exposes and the registry keeps, so it must be the native one.
#[test]
fn more_outputs_than_slots_are_committed_not_shown() {
    let n = instance::MAX_OUTPUTS + 5;
    let mut rows = SparseRows::new();
    for j in 0..n {
        rows.push_row([(v((j % 4) as u32), 0.25 + 0.01 * j as f64)]);
    }
    let g = Graph {
        inputs: vec![TensorInfo { name: "x".into(), shape: vec![1, 4], ..Default::default() }],
        nodes: vec![Node {
            name: "fc".into(),
            op: "EinSum".into(),
            first: 4,
            kind: NodeKind::Linear { rows, bias: vec![0.0; n] },
        }],
        outputs: vec![OutputTensor {
            info: TensorInfo { name: "y".into(), shape: vec![n], ..Default::default() },
            srcs: (0..n).map(|j| v(4 + j as u32)).collect(),
        }],
        index_checks: Vec::new(),
    };
    let q = quantize(&g, SETTINGS).expect("quantize");
    let p = plan(&q, 11).expect("plan");
    let ls = layouts(&q, &p);
    let last = ls.last().expect("a shard");
    mock(p.k, last).expect("honest witness satisfies");
    let descriptor = instance::descriptor(0, q.output_scale()).expect("fits");
    assert_eq!(last.instances[instance::DESCRIPTOR], Fr::from(descriptor));
    assert!(last.instances[instance::OUTPUT0..].iter().all(|x| *x == Fr::ZERO));
    let trace = q.eval(&q.quantize_inputs(&inputs()).expect("inputs")).expect("eval");
    let outs = q.outputs_q(&trace);
    assert_eq!(outs.len(), n);
    let committed = crate::shard::boundary::boundary_commitment(&outs, SETTINGS.lookup_bits);
    assert_eq!(last.instances[instance::OUT_COMMIT], committed);
    // Claiming to show outputs, or another commitment, fails.
    for (at, delta) in [(instance::DESCRIPTOR, Fr::from(n as u64)), (instance::OUT_COMMIT, Fr::ONE)]
    {
        let mut bad = last.clone();
        bad.instances[at] += delta;
        assert!(mock(p.k, &bad).is_err(), "instance {at} + {delta:?} accepted");
    }
}

#[test]
fn wrong_instance_fails() {
    let q = quantize(&tiny_graph(), SETTINGS).expect("quantize");
    let p = plan(&q, 11).expect("plan");
    let honest = layouts(&q, &p).remove(0);
    for i in [instance::IN_COMMIT, instance::OUT_COMMIT, instance::DESCRIPTOR, instance::OUTPUT0] {
        let mut bad = honest.clone();
        bad.instances[i] += Fr::ONE;
        assert!(mock(p.k, &bad).is_err(), "instance {i} not bound");
    }
    // The output scale is bound as well as the count: another scale, or both changed at once.
    for delta in [1u64 << instance::COUNT_BITS, (1 << instance::COUNT_BITS) - 1] {
        let mut bad = honest.clone();
        bad.instances[instance::DESCRIPTOR] += Fr::from(delta);
        assert!(mock(p.k, &bad).is_err(), "descriptor + {delta} not bound");
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
            super::layout::build_forged(q, s, &vals, salts(p, s.index), forge).expect("layout")
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
    q.out = crate::quant::semantics::apply(act, q.y, SETTINGS.scale_bits).expect("in the table");
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
        (
            "dot",
            q(one_node(NodeKind::Dot {
                a: vec![v(0), v(1), v(2), v(3)],
                b: vec![v(3), v(2), v(1), v(0)],
                terms: 2,
            })),
        ),
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

// Wide values: sums, products, ReLU/identity outputs, maxima and boundary values proven by a
// split `v = 2^s h + lo` over the existing tables.

const WIDE: QuantSettings = QuantSettings { scale_bits: 4, lookup_bits: 8, wide: true };

/// A linear node whose outputs reach ~14 (224 at 2^4, past the 8-bit lookup domain's 128),
/// then a ReLU, a max of both signs and an identity output.
fn large_sums_graph() -> Graph {
    let mut rows = SparseRows::new();
    rows.push_row([(v(0), 9.0), (v(1), -4.0), (v(2), 3.5)]);
    rows.push_row([(v(0), -9.5), (v(3), 6.0)]);
    rows.push_row([(v(1), 1.0)]);
    let nodes = vec![
        Node {
            name: "fc".into(),
            op: "Gemm".into(),
            first: 4,
            kind: NodeKind::Linear { rows, bias: vec![0.5, -0.25, 0.0] },
        },
        Node {
            name: "relu".into(),
            op: "Relu".into(),
            first: 7,
            kind: NodeKind::Act { input: vec![v(4), v(5), v(6)], act: Activation::Relu },
        },
        Node {
            name: "pool".into(),
            op: "MaxPool".into(),
            first: 10,
            kind: NodeKind::Max { windows: vec![vec![v(4), v(5)], vec![v(5), v(6), Src::Zero]] },
        },
    ];
    Graph {
        inputs: vec![TensorInfo { name: "x".into(), shape: vec![1, 4], ..Default::default() }],
        nodes,
        outputs: vec![OutputTensor {
            info: TensorInfo { name: "y".into(), shape: vec![8], ..Default::default() },
            srcs: vec![v(4), v(5), v(6), v(7), v(8), v(9), v(10), v(11)],
        }],
        index_checks: Vec::new(),
    }
}

/// [`large_sums_graph`] followed by a chain of linear layers over wide values, long enough
/// to need several shards at small `k`.
fn deep_large_sums_graph() -> Graph {
    let mut g = large_sums_graph();
    let mut prev = [4u32, 5, 6];
    for layer in 0..40u32 {
        let first = 12 + 3 * layer;
        let mut rows = SparseRows::new();
        // A rotation and a reflection: the values keep their (large) magnitude.
        rows.push_row([(v(prev[0]), 0.6), (v(prev[1]), -0.8)]);
        rows.push_row([(v(prev[0]), 0.8), (v(prev[1]), 0.6)]);
        rows.push_row([(v(prev[2]), -1.0)]);
        g.nodes.push(Node {
            name: format!("fc{layer}"),
            op: "Gemm".into(),
            first,
            kind: NodeKind::Linear { rows, bias: vec![0.0; 3] },
        });
        prev = [first, first + 1, first + 2];
    }
    g.outputs[0].srcs.extend(prev.map(v));
    g.outputs[0].info.shape = vec![g.outputs[0].srcs.len()];
    g
}

/// Every kind of node in wide form: the tiny model (an interpolated sigmoid, a leaky ReLU
/// by sign and one linear row, beside wide sums), large sums, a product, a dot, a max, a
/// wide rescale.
fn wide_models() -> Vec<(&'static str, QModel)> {
    let q = |g: Graph| quantize(&g, WIDE).expect("quantize");
    vec![
        ("tiny model", q(tiny_graph())),
        ("large sums", q(large_sums_graph())),
        ("mul", q(one_node(NodeKind::Mul { a: vec![v(0), v(1)], b: vec![v(2), v(3)] }))),
        (
            "dot",
            q(one_node(NodeKind::Dot {
                a: vec![v(0), v(1), v(2), v(3)],
                b: vec![v(3), v(2), v(1), v(0)],
                terms: 2,
            })),
        ),
        (
            "max",
            q(one_node(NodeKind::Max {
                windows: vec![vec![v(0), v(1), v(2), v(3)], vec![v(3), Src::Zero], vec![v(2)]],
            })),
        ),
        ("wide rescale", q(wide_rescale_graph())),
    ]
}

/// [`wide_models`] and one that needs several shards at `k = 9`.
fn wide_models_and_a_deep_one() -> Vec<(&'static str, QModel)> {
    let mut all = wide_models();
    all.push(("deep large sums", quantize(&deep_large_sums_graph(), WIDE).expect("quantize")));
    all
}

#[test]
fn large_sums_are_out_of_range_narrow_and_exact_wide() {
    let narrow = quantize(&large_sums_graph(), SETTINGS).expect("quantize");
    let x = narrow.quantize_inputs(&inputs()).expect("inputs");
    match narrow.eval(&x) {
        Err(crate::ProverError::OutOfRange { node, bound, .. }) => {
            assert_eq!((node.as_str(), bound), ("fc", 128));
        }
        other => panic!("narrow: {other:?}"),
    }
    let wide = quantize(&large_sums_graph(), WIDE).expect("quantize");
    let t = wide.eval(&wide.quantize_inputs(&inputs()).expect("inputs")).expect("eval");
    let out = wide.outputs_q(&t);
    // fc[0] = 0.7*9 + 1.3*4 + 0.4*3.5 + 0.5 = 13.4, fc[1] = -6.65 - 5.4 - 0.25 = -12.3.
    // Within the inputs' rounding (1/32 each, times the weights' L1 norm) and one step.
    let fc: Vec<f64> = out[..3].iter().map(|v| *v as f64 / 16.0).collect();
    for (got, want, l1) in [(fc[0], 13.4, 16.5), (fc[1], -12.3, 15.5), (fc[2], -1.3, 1.0)] {
        assert!((got - want).abs() <= l1 / 32.0 + 1.0 / 16.0, "{got} vs {want}");
    }
    assert!(out[0] > 128 && out[1] < -128, "{out:?}");
    assert_eq!(out[3..6], [out[0], 0, 0], "relu by sign");
    assert_eq!(out[6..8], [out[0], 0], "max of wide values");
}

#[test]
fn wide_models_are_sound() {
    for (name, q) in wide_models() {
        let p = plan(&q, 11).expect("plan");
        let honest = layouts(&q, &p).remove(0);
        println!("{name}");
        assert_every_cell_bound(p.k, &honest);
    }
}

/// The witness computes exactly what the reference evaluator does (the last shard shows
/// the outputs), at every shard count.
#[test]
fn wide_witness_matches_the_evaluator_across_shards() {
    let mut split = false;
    for (name, q) in wide_models_and_a_deep_one() {
        let t = q.eval(&q.quantize_inputs(&inputs()).expect("inputs")).expect("eval");
        let want: Vec<Fr> = q.outputs_q(&t).into_iter().map(fe).collect();
        for k in [11, 9, 8, 7] {
            let Ok(p) = plan(&q, k) else { continue };
            split |= name == "deep large sums" && p.shards.len() > 1;
            let ls = layouts(&q, &p);
            for l in &ls {
                mock(p.k, l).unwrap_or_else(|e| panic!("{name} at k={k}: {e}"));
            }
            for w in ls.windows(2) {
                assert_eq!(
                    w[0].instances[instance::OUT_COMMIT],
                    w[1].instances[instance::IN_COMMIT]
                );
            }
            let last = &ls[ls.len() - 1].instances;
            assert_eq!(
                last[instance::OUTPUT0..instance::OUTPUT0 + want.len()],
                want[..],
                "{name} k={k}"
            );
        }
    }
    assert!(split, "the deep large sums never crossed a shard boundary as wide values");
}

fn forged_split_layouts(
    q: &QModel,
    p: &ShardPlan,
    forge: super::layout::SplitForge,
) -> Vec<Layout> {
    let trace = q.eval(&q.quantize_inputs(&inputs()).expect("inputs")).expect("eval");
    p.shards
        .iter()
        .map(|s| {
            let vals: Vec<i64> = s.inputs.iter().map(|id| trace.values[*id as usize]).collect();
            super::layout::build_forged_split(q, s, &vals, salts(p, s.index), forge)
                .expect("layout")
        })
        .collect()
}

/// The sign the non-negative table gives `h`.
fn sign_of(h: i64) -> i64 {
    if h >= 0 {
        1 << WIDE.scale_bits
    } else {
        0
    }
}

fn assert_split_forgery_rejected(forge: super::layout::SplitForge, what: &str) {
    for (name, q) in wide_models_and_a_deep_one() {
        for k in [11, 9] {
            let Ok(p) = plan(&q, k) else { continue };
            for l in forged_split_layouts(&q, &p, |_| {}) {
                mock(p.k, &l).expect("the identity forgery is the honest witness");
            }
            // Every shard splits the values it receives, so every shard must reject.
            for (i, l) in forged_split_layouts(&q, &p, forge).iter().enumerate() {
                assert!(mock(p.k, l).is_err(), "{name} k={k} shard {i}: {what} accepted");
            }
        }
    }
}

#[test]
fn forged_split_low_limb_past_its_range_is_rejected() {
    // (h, lo) -> (h - 1, lo + 2^s) with the sign h - 1 has in the table: the recomposition
    // and the sign lookup hold, only lo's range does not.
    assert_split_forgery_rejected(
        |sp| {
            sp.h -= 1;
            sp.lo += 1 << WIDE.scale_bits;
            sp.sign = sign_of(sp.h);
        },
        "(h-1, lo+2^s)",
    );
}

#[test]
fn forged_split_low_limb_below_zero_is_rejected() {
    assert_split_forgery_rejected(
        |sp| {
            sp.h += 1;
            sp.lo -= 1 << WIDE.scale_bits;
            sp.sign = sign_of(sp.h);
        },
        "(h+1, lo-2^s)",
    );
}

#[test]
fn forged_split_breaking_the_recomposition_is_rejected() {
    assert_split_forgery_rejected(|sp| sp.h += 1, "h+1 alone");
    assert_split_forgery_rejected(|sp| sp.lo = (sp.lo + 1) % (1 << WIDE.scale_bits), "lo changed");
}

#[test]
fn forged_sign_is_rejected() {
    // A negative value passed by ReLU as if positive, or a positive one zeroed.
    assert_split_forgery_rejected(|sp| sp.sign = (1 << WIDE.scale_bits) - sp.sign, "sign flipped");
    assert_split_forgery_rejected(|sp| sp.sign = 1, "sign not in the table");
}

#[test]
fn forged_wide_rescale_is_rejected() {
    // (y, r) -> (y - 1, r + 2^shift) on a rescale whose y is wide (no table reads it).
    for (name, q) in wide_models() {
        let p = plan(&q, 11).expect("plan");
        let forged = forged_layouts(&q, &p, shift_down);
        let any_rescale = q.nodes.iter().any(|n| {
            matches!(n.kind, QKind::Linear { shift, .. } | QKind::Mul { shift, .. } | QKind::Dot { shift, .. } if shift > 0)
        });
        if any_rescale {
            assert!(
                forged.iter().any(|l| mock(p.k, l).is_err()),
                "{name}: (y-1, r+2^shift) accepted"
            );
        }
    }
}

#[test]
fn wide_values_past_the_value_range_are_named_errors() {
    let q = quantize(&large_sums_graph(), WIDE).expect("quantize");
    let p = plan(&q, 11).expect("plan");
    let bound = WIDE.value_bound();
    // A boundary value one past the value range: the witness refuses it.
    let mut vals = vec![0; p.shards[0].inputs.len()];
    vals[0] = bound;
    match build(&q, &p.shards[0], &vals, salts(&p, 0)) {
        Err(crate::ProverError::OutOfRange { value, bound: b, .. }) => {
            assert_eq!((value, b), (bound as i128, bound as i128));
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
    // Inputs in range whose sum is not: the evaluator and the witness both name the node.
    let big = [(bound - 1) / 2, -(bound / 2), 0, 0];
    match q.eval(&big) {
        Err(crate::ProverError::OutOfRange { node, .. }) => assert_eq!(node, "fc"),
        other => panic!("{:?}", other.map(|_| ())),
    }
    match build(&q, &p.shards[0], &big, salts(&p, 0)) {
        Err(crate::ProverError::OutOfRange { node, .. }) => assert_eq!(node, "fc"),
        other => panic!("{:?}", other.map(|_| ())),
    }
}

#[test]
fn narrow_settings_keep_their_tables_and_wide_ones_add_no_column() {
    use super::layout::shard_tables;
    let narrow = quantize(&tiny_graph(), SETTINGS).expect("quantize");
    let p = plan(&narrow, 11).expect("plan");
    assert!(shard_tables(&narrow, &p.shards[0]).identity);
    let wide = quantize(&tiny_graph(), WIDE).expect("quantize");
    let pw = plan(&wide, 11).expect("plan");
    let t = shard_tables(&wide, &pw.shards[0]);
    assert!(!t.identity && t.acts.contains(&Activation::NonNegative), "{t:?}");
    let l = layouts(&wide, &pw).remove(0);
    let n = layouts(&narrow, &p).remove(0);
    assert_eq!((l.advice.len(), l.fixed.len()), (n.advice.len(), n.fixed.len()));
}

// Smooth functions of wide values: interpolated between the table points around the value.

/// A fused linear + tanh, and single tanh, exp and GELU nodes, beside [`tiny_graph`]'s
/// sigmoid of a product: every way an interpolated function is reached.
fn interpolating_models() -> Vec<(String, QModel)> {
    let q = |g: Graph| quantize(&g, WIDE).expect("quantize");
    let mut rows = SparseRows::new();
    rows.push_row([(v(0), 2.5), (v(1), 1.5), (v(2), -0.75)]);
    rows.push_row([(v(3), -4.0), (v(1), 0.5)]);
    let fc = Node {
        name: "fc".into(),
        op: "Gemm".into(),
        first: 4,
        kind: NodeKind::Linear { rows, bias: vec![0.1, -0.3] },
    };
    let act = Node {
        name: "tanh".into(),
        op: "Tanh".into(),
        first: 6,
        kind: NodeKind::Act { input: vec![v(4), v(5)], act: Activation::Tanh },
    };
    let fused = Graph {
        inputs: vec![TensorInfo { name: "x".into(), shape: vec![4], ..Default::default() }],
        nodes: vec![fc, act],
        outputs: vec![OutputTensor {
            info: TensorInfo { name: "y".into(), shape: vec![2], ..Default::default() },
            srcs: vec![v(6), v(7)],
        }],
        index_checks: Vec::new(),
    };
    let mut all = vec![("tiny model".to_string(), q(tiny_graph())), ("gemm+tanh".into(), q(fused))];
    for act in [Activation::Tanh, Activation::Exp, Activation::Gelu] {
        let g = one_node(NodeKind::Act { input: (0..4).map(v).collect(), act });
        all.push((format!("{act:?}"), q(g)));
    }
    for (name, m) in &all {
        let interpolated = m.activations().into_iter().any(|a| WIDE.interpolates(a));
        assert!(interpolated, "{name}: nothing interpolated");
    }
    all
}

#[test]
fn interpolated_functions_are_sound_and_match_the_evaluator() {
    for (name, q) in interpolating_models() {
        let t = q.eval(&q.quantize_inputs(&inputs()).expect("inputs")).expect("eval");
        let want: Vec<Fr> = q.outputs_q(&t).into_iter().map(fe).collect();
        let p = plan(&q, 11).expect("plan");
        let honest = layouts(&q, &p).remove(0);
        assert_eq!(honest.instances[instance::OUTPUT0..instance::OUTPUT0 + want.len()], want[..]);
        println!("{name}");
        assert_every_cell_bound(p.k, &honest);
    }
}

fn assert_interp_forgery_rejected(forge: super::layout::InterpForge, what: &str) {
    for (name, q) in interpolating_models() {
        let trace = q.eval(&q.quantize_inputs(&inputs()).expect("inputs")).expect("eval");
        let p = plan(&q, 11).expect("plan");
        let build = |forge| {
            let s = &p.shards[0];
            let vals: Vec<i64> = s.inputs.iter().map(|id| trace.values[*id as usize]).collect();
            super::layout::build_forged_interp(&q, s, &vals, salts(&p, 0), forge).expect("layout")
        };
        mock(p.k, &build(|_, _| {})).expect("the identity forgery is the honest witness");
        assert!(mock(p.k, &build(forge)).is_err(), "{name}: {what} accepted");
    }
}

/// Recomputes the output and remainder a forged `(h, lo, f0, f1)` implies.
fn reround(it: &mut crate::quant::semantics::Interp) {
    (it.out, it.r) = crate::quant::semantics::chord(it.f0, it.f1, it.lo, WIDE.scale_bits);
}

#[test]
fn forged_interpolation_rounding_is_rejected() {
    // The row equation holds for both; only the remainder's range does not.
    assert_interp_forgery_rejected(
        |it, _| {
            it.out -= 1;
            it.r += 1 << WIDE.scale_bits;
        },
        "(out-1, r+2^s)",
    );
    assert_interp_forgery_rejected(
        |it, _| {
            it.out += 1;
            it.r -= 1 << WIDE.scale_bits;
        },
        "(out+1, r-2^s)",
    );
    assert_interp_forgery_rejected(|it, _| it.out += 1, "out+1 alone");
}

#[test]
fn forged_interpolation_points_are_rejected() {
    use crate::quant::semantics::grid;
    // The neighbouring interval, its points from the table and the output they imply: the
    // value's recomposition holds, the offset's range does not.
    assert_interp_forgery_rejected(
        |it, act| {
            it.h -= 1;
            it.lo += 1 << WIDE.scale_bits;
            it.f0 = grid(act, it.h, &WIDE).unwrap_or(it.f0);
            it.f1 = grid(act, it.h + 1, &WIDE).unwrap_or(it.f1);
            reround(it);
        },
        "(h-1, lo+2^s) with its table points",
    );
    // Points that are not the function's, the output recomputed from them.
    assert_interp_forgery_rejected(
        |it, _| {
            it.f0 += 1;
            reround(it);
        },
        "f0+1",
    );
    assert_interp_forgery_rejected(
        |it, _| {
            it.f1 = it.f0;
            reround(it);
        },
        "f1 = f0 (a flat chord)",
    );
}
