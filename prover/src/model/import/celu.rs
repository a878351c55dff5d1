//! ONNX `Celu(x, alpha) = max(0, x) + min(0, alpha (exp(x / alpha) - 1))` is rewritten as
//! `alpha * Elu(x / alpha)` before tract reads it, which is the same function (for `x > 0`
//! both are `x`; below, both are `alpha (exp(x / alpha) - 1)`). tract's own translation
//! drops the factor `alpha` from the negative branch, so for `alpha != 1` every negative
//! input would be proven to a wrong value (`celu(-3)` at `alpha = 2`: -0.777 instead of
//! ONNX's -1.554). `alpha = 1` is `Elu` itself and is left to tract.

use tract_onnx::pb;

use super::proto::{attr, io, Emitter};
use crate::error::Result;

/// Rewrites every `Celu` node whose `alpha` is not 1 into `Div`, `Elu`, `Mul`.
pub(super) fn rewrite(model: &mut pb::ModelProto) -> Result<()> {
    let Some(graph) = model.graph.as_mut() else { return Ok(()) };
    let alpha = |n: &pb::NodeProto| attr(n, "alpha").map_or(1.0, |a| a.f);
    if !graph.node.iter().any(|n| is_celu(n) && alpha(n) != 1.0) {
        return Ok(());
    }
    let mut out = Emitter::default();
    for node in std::mem::take(&mut graph.node) {
        let a = alpha(&node);
        if !is_celu(&node) || a == 1.0 {
            out.nodes.push(node);
            continue;
        }
        let (x, outputs) = io(&node, 1)?;
        let base = if node.name.is_empty() { outputs[0] } else { &node.name };
        let factor = out.floats(base, &[], vec![a]);
        let scaled = out.node(base, "Div", &[x, &factor], vec![]);
        let elu = out.node(base, "Elu", &[&scaled], vec![]);
        out.node_to(base, "Mul", &[&elu, &factor], vec![], outputs[0]);
    }
    graph.node = out.nodes;
    graph.initializer.extend(out.initializers);
    Ok(())
}

fn is_celu(node: &pb::NodeProto) -> bool {
    node.op_type == "Celu" && (node.domain.is_empty() || node.domain == "ai.onnx")
}
