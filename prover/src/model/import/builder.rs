//! The state of an import: what each tract outlet holds, and the graph being built.

use std::collections::HashMap;

use tract_onnx::prelude::tract_ndarray::{ArrayD, IxDyn};
use tract_onnx::prelude::*;

use super::bounds::{Range, Ranges};
use crate::error::{ProverError, Result};
use crate::model::graph::{
    Graph, IndexCheck, Node, NodeKind, OutputTensor, SparseRows, Src, TensorInfo,
};

/// A tensor whose elements are scalar values of the graph.
pub(super) type SymTensor = ArrayD<Src>;

/// What one tract outlet holds during import.
#[derive(Clone, Debug)]
pub(super) enum Wire {
    /// Known at import time (weights and folded constant subgraphs).
    Const(Arc<Tensor>),
    /// Depends on the model input.
    Sym(SymTensor),
    /// The boolean test of a PReLU pattern; only the matching `Iff` reads it.
    PreluTest,
}

/// The tract node being lowered: names the graph nodes it emits and the errors it raises.
#[derive(Clone, Copy, Debug)]
pub(super) struct Origin<'a> {
    /// tract node name.
    pub name: &'a str,
    /// tract op name.
    pub op: &'a str,
}

impl Origin<'_> {
    /// An [`ProverError::UnsupportedOp`] for this node.
    pub fn unsupported(&self, reason: impl Into<String>) -> ProverError {
        ProverError::UnsupportedOp {
            op: self.op.to_string(),
            node: self.name.to_string(),
            reason: reason.into(),
        }
    }

    /// Wraps a tract (or ndarray) failure while lowering this node.
    pub fn failed(&self, err: impl std::fmt::Display) -> ProverError {
        self.unsupported(format!("import failed: {err}"))
    }
}

/// Appends nodes to a [`Graph`], handing out consecutive value ids.
pub(super) struct GraphBuilder {
    graph: Graph,
    next: u64,
    ranges: Ranges,
    /// `[idx >= t]` already computed, by `(idx, t)` (see `logic::index_steps`).
    steps: HashMap<(Src, usize), Src>,
}

impl GraphBuilder {
    /// A graph with the given inputs and no nodes yet.
    pub fn new(inputs: Vec<TensorInfo>) -> Self {
        let next = inputs.iter().map(|i| i.numel() as u64).sum();
        let graph = Graph { inputs, ..Graph::default() };
        Self { graph, next, ranges: Ranges::default(), steps: HashMap::new() }
    }

    /// The model inputs as tensors of their value ids.
    pub fn input_tensors(&self) -> Result<Vec<SymTensor>> {
        let mut next = 0u64;
        let mut tensors = Vec::with_capacity(self.graph.inputs.len());
        for info in &self.graph.inputs {
            let srcs = value_range(next, info.numel())?;
            next += info.numel() as u64;
            let tensor = ArrayD::from_shape_vec(IxDyn(&info.shape), srcs)
                .map_err(|e| ProverError::InputShape(format!("input {}: {e}", info.name)))?;
            tensors.push(tensor);
        }
        Ok(tensors)
    }

    /// Appends a node; returns its outputs shaped as `shape`.
    pub fn push(
        &mut self,
        origin: &Origin,
        suffix: &str,
        kind: NodeKind,
        shape: &[usize],
    ) -> Result<SymTensor> {
        let len = kind.len();
        let srcs = value_range(self.next, len)?;
        let name = format!("{}{suffix}", origin.name);
        let first = self.next as u32;
        self.next += len as u64;
        self.ranges.add_node(first, &kind);
        self.graph.nodes.push(Node { name, op: origin.op.to_string(), first, kind });
        ArrayD::from_shape_vec(IxDyn(shape), srcs).map_err(|e| origin.failed(e))
    }

    /// The integer range the circuit enforces on `s`, if it has one (see [`Ranges`]).
    pub fn range(&self, s: Src) -> Option<Range> {
        self.ranges.of(s)
    }

    /// The value `[idx >= t]`, if some gather computed it.
    pub fn step(&self, key: (Src, usize)) -> Option<Src> {
        self.steps.get(&key).copied()
    }

    /// Records `g = [idx >= t]` for `key = (idx, t)`.
    pub fn remember_step(&mut self, key: (Src, usize), g: Src) {
        self.steps.insert(key, g);
    }

    /// Has witness generation check that `index` lies in `[-len, len)`, unless the circuit
    /// already bounds it there (a tree traversal's node index, an ArgMax).
    pub fn check_index(&mut self, origin: &Origin, index: Src, len: usize) {
        let len = len as u64;
        let bounded =
            self.range(index).is_some_and(|(lo, hi)| lo >= -(len as i64) && hi < len as i64);
        if bounded {
            return;
        }
        let check =
            IndexCheck { node: origin.name.to_string(), op: origin.op.to_string(), index, len };
        if !self.graph.index_checks.contains(&check) {
            self.graph.index_checks.push(check);
        }
    }

    /// Appends a [`NodeKind::Linear`] node built from one term list per output.
    pub fn linear(
        &mut self,
        origin: &Origin,
        suffix: &str,
        rows: impl IntoIterator<Item = (Vec<(Src, f64)>, f64)>,
        shape: &[usize],
    ) -> Result<SymTensor> {
        let mut sparse = SparseRows::new();
        let mut bias = Vec::new();
        for (terms, b) in rows {
            sparse.push_row(merge_terms(terms));
            bias.push(b);
        }
        self.push(origin, suffix, NodeKind::Linear { rows: sparse, bias }, shape)
    }

    /// Finishes the graph with its outputs.
    pub fn finish(mut self, outputs: Vec<OutputTensor>) -> Graph {
        self.graph.outputs = outputs;
        self.graph
    }
}

/// Sums the weights of repeated operands (x + x, broadcast operands), keeping first-seen order.
pub(super) fn merge_terms(terms: Vec<(Src, f64)>) -> Vec<(Src, f64)> {
    let mut index: HashMap<Src, usize> = HashMap::with_capacity(terms.len());
    let mut merged: Vec<(Src, f64)> = Vec::with_capacity(terms.len());
    for (src, w) in terms {
        match index.get(&src) {
            Some(&k) => merged[k].1 += w,
            None => {
                index.insert(src, merged.len());
                merged.push((src, w));
            }
        }
    }
    merged
}

/// `count` consecutive value ids starting at `first`, refusing to overflow [`ValueId`].
///
/// [`ValueId`]: crate::model::graph::ValueId
fn value_range(first: u64, count: usize) -> Result<Vec<Src>> {
    let end = first + count as u64;
    if end > u64::from(u32::MAX) {
        return Err(ProverError::Planning(format!("model needs {end} scalar values, over 2^32")));
    }
    Ok((first as u32..end as u32).map(Src::Value).collect())
}

/// A constant tensor as f32 (the type the float reference computes in).
pub(super) fn const_f32(origin: &Origin, t: &Tensor) -> Result<ArrayD<f32>> {
    let cast = t.cast_to::<f32>().map_err(|e| origin.failed(e))?;
    let view = cast.to_plain_array_view::<f32>().map_err(|e| origin.failed(e))?;
    Ok(view.to_owned())
}

/// Numpy-style broadcast of `a` to `shape`.
pub(super) fn broadcast<T: Clone>(
    origin: &Origin,
    a: &ArrayD<T>,
    shape: &[usize],
) -> Result<ArrayD<T>> {
    a.broadcast(IxDyn(shape))
        .map(|v| v.to_owned())
        .ok_or_else(|| origin.failed(format!("cannot broadcast {:?} to {shape:?}", a.shape())))
}

/// The concrete shape of a fact; symbolic dimensions are left by inputs without shapes.
pub(super) fn concrete_shape(origin: &Origin, fact: &TypedFact) -> Result<Vec<usize>> {
    fact.shape.as_concrete().map(|s| s.to_vec()).ok_or_else(|| {
        origin.unsupported(format!("shape {:?} is not concrete; give input shapes", fact.shape))
    })
}
