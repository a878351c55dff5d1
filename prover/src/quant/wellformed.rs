//! The shape invariants a quantized model must hold before the evaluator or the layout index
//! into it: a `compiled.bin` is a file a user hands us, so a corrupt or hand-edited one must
//! be refused by name, never reach an out-of-bounds slice.

use super::{QKind, QModel};
use crate::model::graph::{Src, ValueId};

impl QModel {
    /// Checks that every node's value ids follow on from the previous node's, every operand
    /// names a value computed before the node, every output names a computed value, and each
    /// kind's operand lists have the lengths its outputs need. The error names the node (or
    /// "outputs") and what is wrong with it.
    pub fn check_wellformed(&self) -> Result<(), String> {
        self.settings.validate()?;
        let mut next = self.num_input_values() as u64;
        for node in &self.nodes {
            let at = |what: String| format!("node {:?} ({}): {what}", node.name, node.op);
            if node.first as u64 != next {
                return Err(at(format!("first value {} where {next} was next", node.first)));
            }
            shape(&node.kind).map_err(at)?;
            if let Some(v) = operands(&node.kind).find(|s| !computed(*s, next)) {
                return Err(at(format!("reads {v:?}, not computed before it")));
            }
            next += node.kind.len() as u64;
        }
        if next > ValueId::MAX as u64 {
            return Err(format!("{next} values, more than value ids can name"));
        }
        if let Some(v) = self.output_srcs().into_iter().find(|s| !computed(*s, next)) {
            return Err(format!("outputs: {v:?} is not a value of the model"));
        }
        if let Some(c) = self.index_checks.iter().find(|c| !computed(c.index, next)) {
            return Err(format!("index check of {:?}: {:?} is not a value", c.node, c.index));
        }
        Ok(())
    }
}

/// Every operand of every output, without building per-output vectors.
fn operands(kind: &QKind) -> Box<dyn Iterator<Item = Src> + '_> {
    match kind {
        QKind::Linear { rows, .. } => Box::new(rows.srcs.iter().copied()),
        QKind::Mul { a, b, .. } | QKind::Dot { a, b, .. } | QKind::Div { a, b, .. } => {
            Box::new(a.iter().chain(b).copied())
        }
        QKind::Act { input, .. } => Box::new(input.iter().copied()),
        QKind::Max { windows } => Box::new(windows.iter().flatten().copied()),
    }
}

fn computed(s: Src, next: u64) -> bool {
    match s {
        Src::Zero => true,
        Src::Value(v) => (v as u64) < next,
    }
}

/// The per-kind length invariants that `QKind::len` and `QKind::operands_of` rely on.
fn shape(kind: &QKind) -> Result<(), String> {
    match kind {
        QKind::Linear { rows, bias, .. } => {
            let o = &rows.offsets;
            if o.first() != Some(&0) || o.windows(2).any(|w| w[0] > w[1]) {
                return Err("row offsets do not start at 0 and rise".into());
            }
            if o.len() != bias.len() + 1 {
                return Err(format!("{} rows but {} biases", o.len() - 1, bias.len()));
            }
            let terms = *o.last().unwrap_or(&0) as usize;
            if rows.srcs.len() != terms || rows.weights.len() != terms {
                return Err(format!(
                    "{terms} terms but {} operands and {} weights",
                    rows.srcs.len(),
                    rows.weights.len()
                ));
            }
        }
        QKind::Mul { a, b, .. } | QKind::Div { a, b, .. } if a.len() != b.len() => {
            return Err(format!("{} left operands but {} right", a.len(), b.len()));
        }
        QKind::Dot { a, b, terms, .. } => {
            if *terms == 0 {
                return Err("a sum of products with no terms".into());
            }
            if a.len() != b.len() || a.len() % *terms as usize != 0 {
                return Err(format!(
                    "{} left and {} right operands for sums of {terms} products",
                    a.len(),
                    b.len()
                ));
            }
        }
        QKind::Max { windows } if windows.iter().any(Vec::is_empty) => {
            return Err("a maximum over an empty window".into());
        }
        _ => {}
    }
    Ok(())
}
