//! The shard planner.
//!
//! A model is a sequence of items (one output of one node) in topological order. A shard
//! is a contiguous run of items; the values it receives are those produced before it and
//! still needed (the live set at its start), and it passes on the live set at its end.
//! A node whose outputs do not fit one shard is simply cut between outputs, i.e. by output
//! channel for a conv or by output row for a matmul: shards stay bounded by `2^k` rows
//! whatever the model size.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::circuit::layout::{cost, shard_tables};
use crate::circuit::usable_rows;
use crate::error::{ProverError, Result};
use crate::model::graph::{Src, ValueId};
use crate::quant::QModel;

/// A run of outputs of one node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// Index in `QModel::nodes`.
    pub node: usize,
    /// Outputs of that node computed here.
    pub outputs: Range<usize>,
}

/// One shard: what it receives, computes and passes on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSpec {
    /// Position in the chain.
    pub index: usize,
    /// True for the shard holding the model outputs.
    pub is_last: bool,
    /// Values received (sorted ids); all model inputs for shard 0.
    pub inputs: Vec<ValueId>,
    /// Computation.
    pub items: Vec<Item>,
    /// Values passed on: live values (sorted) or, for the last shard, the model outputs.
    pub outputs: Vec<Src>,
    /// Gate rows used (excluding table rows).
    pub rows: usize,
}

/// A model's shards at one circuit size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardPlan {
    /// Every shard circuit has `2^k` rows.
    pub k: u32,
    /// The chain.
    pub shards: Vec<ShardSpec>,
}

impl ShardPlan {
    /// Checks that every item names a node of `model` and outputs it has, and every value
    /// passed between shards is a value of `model`: a plan read from a file is indexed with.
    pub fn check_wellformed(&self, model: &QModel) -> std::result::Result<(), String> {
        let num_values = model.num_values();
        for shard in &self.shards {
            let at = |what: String| format!("shard {}: {what}", shard.index);
            for item in &shard.items {
                let len = model.nodes.get(item.node).map(|n| n.kind.len());
                match len {
                    Some(len)
                        if item.outputs.start <= item.outputs.end && item.outputs.end <= len => {}
                    _ => return Err(at(format!("item {item:?} is not a run of a node's outputs"))),
                }
            }
            if let Some(v) = shard.inputs.iter().find(|v| **v as usize >= num_values) {
                return Err(at(format!("receives value {v}, not a value of the model")));
            }
            let outside = |s: &&Src| matches!(s, Src::Value(v) if *v as usize >= num_values);
            if let Some(s) = shard.outputs.iter().find(outside) {
                return Err(at(format!("passes on {s:?}, not a value of the model")));
            }
        }
        Ok(())
    }
}

/// Plans shards of `2^k` rows.
pub fn plan(model: &QModel, k: u32) -> Result<ShardPlan> {
    plan_with_budget(model, k, usable_rows(k))
}

/// Plans shards of `2^k` rows using at most `budget` gate rows each (tests use small
/// budgets to force many shards on small models).
pub fn plan_with_budget(model: &QModel, k: u32, budget: usize) -> Result<ShardPlan> {
    let budget = budget.min(usable_rows(k));
    let st = model.settings;
    let n_in = model.num_input_values();
    // Items in order: (node, output), with their row cost.
    let mut items: Vec<(usize, usize)> = Vec::new();
    for (ni, node) in model.nodes.iter().enumerate() {
        items.extend((0..node.kind.len()).map(|j| (ni, j)));
    }
    let n = items.len();
    let item_cost: Vec<usize> =
        items.iter().map(|&(ni, j)| cost::item(&model.nodes[ni].kind, j, &st)).collect();

    // produced[v]: item position + 1 (0 for model inputs); last[v]: last reading item, or n.
    let num_values = model.num_values();
    let mut produced = vec![0usize; num_values];
    let mut last: Vec<Option<usize>> = vec![None; num_values];
    for (p, &(ni, j)) in items.iter().enumerate() {
        let node = &model.nodes[ni];
        produced[node.first as usize + j] = p + 1;
        for s in node.kind.operands_of(j) {
            if let Src::Value(v) = s {
                last[v as usize] = Some(p);
            }
        }
    }
    let outputs = model.output_srcs();
    for s in &outputs {
        if let Src::Value(v) = s {
            last[*v as usize] = Some(n);
        }
    }
    // live[c]: values produced before cut c and read at or after it.
    let mut delta = vec![0i64; n + 2];
    for v in 0..num_values {
        if let Some(l) = last[v] {
            if l >= produced[v] {
                delta[produced[v]] += 1;
                delta[l + 1] -= 1;
            }
        }
    }
    let mut live = vec![0usize; n + 1];
    let mut acc = 0i64;
    for c in 0..=n {
        acc += delta[c];
        live[c] = acc as usize;
    }

    let mut shards = Vec::new();
    let mut a = 0usize;
    if n == 0 {
        // Pure data movement (reshape, flatten...): one shard commits to the input and
        // exposes it rearranged.
        let rows = cost::OVERHEAD
            + cost::receive(n_in, 1, &st)
            + cost::commit(outputs.len(), 1, st.value_bits());
        if rows > budget {
            return Err(ProverError::Planning(format!(
                "{n_in} inputs need {rows} rows, more than the {budget} rows of k={k}; raise k (--k or --max-k)"
            )));
        }
        shards.push(spec(&items, &produced, &last, 0, 0, n_in, &outputs, rows));
    }
    while a < n {
        let n_recv = if a == 0 { n_in } else { live[a] };
        // Every input commitment absorbs a salt, and so does every output commitment but
        // the last (see `shard::boundary`); the last reserves room for one anyway, since
        // padding (`pad`) turns it into a link.
        let base = cost::OVERHEAD + cost::receive(n_recv, 1, &st);
        let out_cost = |b: usize| {
            let n_out = if b == n { outputs.len() } else { live[b] };
            cost::commit(n_out, 1, st.value_bits())
        };
        let mut b = a;
        let mut rows = base;
        while b < n && rows + item_cost[b] + out_cost(b + 1) <= budget {
            rows += item_cost[b];
            b += 1;
        }
        if b == a {
            let (ni, j) = items[a];
            return Err(ProverError::Planning(format!(
                "output {j} of node {:?} needs {} rows with {} boundary values, more than the {budget} rows of k={k}; raise k (--k or --max-k)",
                model.nodes[ni].name,
                base + item_cost[a] + out_cost(a + 1),
                n_recv
            )));
        }
        rows += out_cost(b);
        shards.push(spec(&items, &produced, &last, a, b, n_in, &outputs, rows));
        a = b;
    }
    let count = shards.len();
    for (i, s) in shards.iter_mut().enumerate() {
        s.index = i;
        s.is_last = i + 1 == count;
        let table_rows = shard_tables(model, s).rows(&st);
        if table_rows > usable_rows(k) {
            return Err(ProverError::Planning(format!(
                "shard {i} needs {table_rows} lookup table rows, more than the {budget} rows of k={k}; raise k (--k or --max-k) or lower --lookup-bits"
            )));
        }
    }
    Ok(ShardPlan { k, shards })
}

#[allow(clippy::too_many_arguments)]
fn spec(
    items: &[(usize, usize)],
    produced: &[usize],
    last: &[Option<usize>],
    a: usize,
    b: usize,
    n_in: usize,
    outputs: &[Src],
    rows: usize,
) -> ShardSpec {
    let live_at = |c: usize| -> Vec<ValueId> {
        (0..produced.len())
            .filter(|&v| produced[v] <= c && last[v].is_some_and(|l| l >= c && l >= produced[v]))
            .map(|v| v as ValueId)
            .collect()
    };
    let inputs = if a == 0 { (0..n_in as ValueId).collect() } else { live_at(a) };
    let shard_outputs = if b == items.len() {
        outputs.to_vec()
    } else {
        live_at(b).into_iter().map(Src::Value).collect()
    };
    let mut runs: Vec<Item> = Vec::new();
    for &(ni, j) in &items[a..b] {
        match runs.last_mut() {
            Some(run) if run.node == ni && run.outputs.end == j => run.outputs.end = j + 1,
            _ => runs.push(Item { node: ni, outputs: j..j + 1 }),
        }
    }
    ShardSpec { index: 0, is_last: false, inputs, items: runs, outputs: shard_outputs, rows }
}

/// Pads a plan to exactly `n` shards with pass-through shards, so one aggregation circuit
/// with `n` slots serves every model of at most `n` shards.
///
/// The last real shard then passes on the distinct output values (sorted); each padding
/// shard receives them, and the final one exposes the model outputs.
pub fn pad(model: &QModel, plan: &ShardPlan, n: usize) -> Result<ShardPlan> {
    let m = plan.shards.len();
    if m > n {
        return Err(ProverError::Planning(format!(
            "the model needs {m} shards, more than the {n} the aggregation circuit takes; raise --max-k or the shard count"
        )));
    }
    if m == n {
        return Ok(plan.clone());
    }
    let outputs = model.output_srcs();
    let mut live: Vec<ValueId> = outputs
        .iter()
        .filter_map(|s| if let Src::Value(v) = s { Some(*v) } else { None })
        .collect();
    live.sort_unstable();
    live.dedup();
    let st = model.settings;
    let passed: Vec<Src> = live.iter().copied().map(Src::Value).collect();
    let mut shards = plan.shards.clone();
    if let Some(last) = shards.last_mut() {
        last.is_last = false;
        last.outputs = passed.clone();
    }
    for index in m..n {
        let is_last = index + 1 == n;
        let outs = if is_last { outputs.clone() } else { passed.clone() };
        let rows = cost::OVERHEAD
            + cost::receive(live.len(), 1, &st)
            + cost::commit(outs.len(), usize::from(!is_last), st.value_bits());
        shards.push(ShardSpec {
            index,
            is_last,
            inputs: live.clone(),
            items: Vec::new(),
            outputs: outs,
            rows,
        });
    }
    Ok(ShardPlan { k: plan.k, shards })
}
