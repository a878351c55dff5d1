//! Post-pass over the imported graph: fold chains of linear nodes, drop unused nodes and
//! renumber values.
//!
//! tract lowers BatchNormalization to `Mul` + `Add` and Gemm to `EinSum` + `Add`; each of
//! those is a [`NodeKind::Linear`] of its own after import. A linear node whose every value
//! is read only by the next linear node can be substituted into it, which saves a layer of
//! rescaling in the circuit ("BN folded into the preceding conv").

use std::collections::BTreeSet;

use super::builder::merge_terms;
use crate::model::graph::{Graph, IndexCheck, Node, NodeKind, SparseRows, Src, ValueId};

/// Folds linear chains and removes nodes no output depends on.
pub(super) fn simplify(graph: Graph) -> Graph {
    let (graph, alive) = fold_linear(graph);
    prune(graph, alive)
}

/// Who reads each node's values.
struct Users {
    /// Producing node of each value (`None` for model inputs).
    producer: Vec<Option<usize>>,
    /// Nodes reading any value of each node.
    readers: Vec<BTreeSet<usize>>,
    /// Nodes with a value that is a model output.
    exported: Vec<bool>,
}

impl Users {
    fn new(graph: &Graph) -> Self {
        let mut producer = vec![None; graph.num_values()];
        for (i, node) in graph.nodes.iter().enumerate() {
            producer[node.first as usize..node.first as usize + node.kind.len()].fill(Some(i));
        }
        let mut users = Users {
            producer,
            readers: vec![BTreeSet::new(); graph.nodes.len()],
            exported: vec![false; graph.nodes.len()],
        };
        for (j, node) in graph.nodes.iter().enumerate() {
            for p in users.producers(node.kind.operands()) {
                users.readers[p].insert(j);
            }
        }
        // A checked index is read at witness generation, so it keeps a value of its own.
        for p in users.producers(graph.observed()) {
            users.exported[p] = true;
        }
        users
    }

    /// Distinct producing nodes of `srcs`, in first-seen order.
    fn producers(&self, srcs: impl Iterator<Item = Src>) -> Vec<usize> {
        let mut seen = Vec::new();
        for src in srcs {
            if let Src::Value(v) = src {
                if let Some(p) = self.producer[v as usize] {
                    if !seen.contains(&p) {
                        seen.push(p);
                    }
                }
            }
        }
        seen
    }
}

/// Substitutes linear nodes into their single linear reader when that does not add terms.
fn fold_linear(mut graph: Graph) -> (Graph, Vec<bool>) {
    let n = graph.nodes.len();
    let mut users = Users::new(&graph);
    let mut alive = vec![true; n];
    // Index of the node whose name a merged node carries: the earliest one merged into it.
    let mut named_after: Vec<usize> = (0..n).collect();
    for j in 0..n {
        let mut rejected = Vec::new();
        while let Some(p) = foldable_producer(&graph, &users, &alive, j, &rejected) {
            let Some((rows, bias)) = compose(&graph.nodes[j], &graph.nodes[p]) else {
                rejected.push(p);
                continue;
            };
            let p_reads = users.producers(graph.nodes[p].kind.operands());
            graph.nodes[j].kind = NodeKind::Linear { rows, bias };
            alive[p] = false;
            for q in p_reads {
                users.readers[q].remove(&p);
                users.readers[q].insert(j);
            }
            if named_after[p] < named_after[j] {
                named_after[j] = named_after[p];
                graph.nodes[j].name = graph.nodes[p].name.clone();
                graph.nodes[j].op = graph.nodes[p].op.clone();
            }
        }
    }
    (graph, alive)
}

/// A live linear node read only by linear node `j` (and not an output), not yet rejected.
fn foldable_producer(
    graph: &Graph,
    users: &Users,
    alive: &[bool],
    j: usize,
    rejected: &[usize],
) -> Option<usize> {
    if !matches!(graph.nodes[j].kind, NodeKind::Linear { .. }) {
        return None;
    }
    users.producers(graph.nodes[j].kind.operands()).into_iter().find(|&p| {
        alive[p]
            && !rejected.contains(&p)
            && !users.exported[p]
            && matches!(graph.nodes[p].kind, NodeKind::Linear { .. })
            && users.readers[p].len() == 1
            && users.readers[p].contains(&j)
    })
}

/// Rows of `outer` with the values of `inner` replaced by their definitions, or `None` when
/// that would need more terms than the two nodes have together (e.g. two dense layers).
fn compose(outer: &Node, inner: &Node) -> Option<(SparseRows, Vec<f64>)> {
    let (
        NodeKind::Linear { rows: o_rows, bias: o_bias },
        NodeKind::Linear { rows: i_rows, bias: i_bias },
    ) = (&outer.kind, &inner.kind)
    else {
        return None;
    };
    let range = inner.first..inner.first + i_bias.len() as ValueId;
    let budget = o_rows.nnz() + i_rows.nnz();
    let mut rows = SparseRows::new();
    let mut bias = Vec::with_capacity(o_bias.len());
    for (r, &b0) in o_bias.iter().enumerate() {
        let mut terms = Vec::new();
        let mut b = b0;
        for (src, w) in o_rows.row(r) {
            match src {
                Src::Value(v) if range.contains(&v) => {
                    let k = (v - inner.first) as usize;
                    terms.extend(i_rows.row(k).map(|(s, w2)| (s, w * w2)));
                    b += w * i_bias[k];
                }
                _ => terms.push((src, w)),
            }
        }
        rows.push_row(merge_terms(terms));
        bias.push(b);
        if rows.nnz() > budget {
            return None;
        }
    }
    Some((rows, bias))
}

/// Drops nodes that are folded away or that no output depends on, and renumbers values.
fn prune(graph: Graph, alive: Vec<bool>) -> Graph {
    let mut needed = vec![false; graph.num_values()];
    let mark = |needed: &mut Vec<bool>, srcs: &mut dyn Iterator<Item = Src>| {
        for s in srcs {
            if let Src::Value(v) = s {
                needed[v as usize] = true;
            }
        }
    };
    mark(&mut needed, &mut graph.observed());
    let mut live = alive;
    for (i, node) in graph.nodes.iter().enumerate().rev() {
        let range = node.first as usize..node.first as usize + node.kind.len();
        live[i] = live[i] && needed[range].iter().any(|&x| x);
        if live[i] {
            mark(&mut needed, &mut node.kind.operands());
        }
    }
    renumber(graph, &live)
}

/// Gives the live nodes consecutive value ids again.
fn renumber(graph: Graph, live: &[bool]) -> Graph {
    let n_in = graph.num_input_values() as ValueId;
    let mut map: Vec<Option<ValueId>> = vec![None; graph.num_values()];
    for (v, slot) in map.iter_mut().enumerate().take(n_in as usize) {
        *slot = Some(v as ValueId);
    }
    let mut next = n_in;
    let mut nodes = Vec::new();
    for (node, _) in graph.nodes.into_iter().zip(live).filter(|(_, &l)| l) {
        let len = node.kind.len() as ValueId;
        for k in 0..len {
            map[(node.first + k) as usize] = Some(next + k);
        }
        let remap = |s: Src| match s {
            Src::Zero => Src::Zero,
            // Live nodes only read live values: the marking above guarantees it.
            Src::Value(v) => Src::Value(map[v as usize].expect("live node reads a pruned value")),
        };
        nodes.push(Node { first: next, kind: remap_kind(node.kind, &remap), ..node });
        next += len;
    }
    let remap = |s: Src| match s {
        Src::Zero => Src::Zero,
        // Outputs and checked indices are marked needed above.
        Src::Value(v) => Src::Value(map[v as usize].expect("output reads a pruned value")),
    };
    let outputs = graph
        .outputs
        .into_iter()
        .map(|mut o| {
            o.srcs = o.srcs.into_iter().map(remap).collect();
            o
        })
        .collect();
    let index_checks =
        graph.index_checks.into_iter().map(|c| IndexCheck { index: remap(c.index), ..c }).collect();
    Graph { inputs: graph.inputs, nodes, outputs, index_checks }
}

/// Applies `f` to every operand of a node.
fn remap_kind(kind: NodeKind, f: &dyn Fn(Src) -> Src) -> NodeKind {
    let all = |v: Vec<Src>| v.into_iter().map(f).collect();
    match kind {
        NodeKind::Linear { mut rows, bias } => {
            rows.srcs = all(rows.srcs);
            NodeKind::Linear { rows, bias }
        }
        NodeKind::Mul { a, b } => NodeKind::Mul { a: all(a), b: all(b) },
        NodeKind::Dot { a, b, terms } => NodeKind::Dot { a: all(a), b: all(b), terms },
        NodeKind::Div { a, b } => NodeKind::Div { a: all(a), b: all(b) },
        NodeKind::IntDiv { a, c } => NodeKind::IntDiv { a: all(a), c },
        NodeKind::IntDivBy { a, b } => NodeKind::IntDivBy { a: all(a), b: all(b) },
        NodeKind::Act { input, act } => NodeKind::Act { input: all(input), act },
        NodeKind::Max { windows } => {
            NodeKind::Max { windows: windows.into_iter().map(all).collect() }
        }
    }
}
