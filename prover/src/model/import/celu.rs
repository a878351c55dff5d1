//! tract translates ONNX `Celu` as `max(0, x) + min(0, exp(x / alpha) - 1)`, without the
//! factor `alpha` ONNX puts on the negative branch (`min(0, alpha (exp(x / alpha) - 1))`):
//! for `alpha != 1` every negative input would be proven to a wrong value. Until zkattest
//! translates `Celu` itself, such a node is refused before tract reads it (`alpha = 1` is
//! `Elu`, which tract computes right).

use tract_onnx::pb;

use crate::error::{ProverError, Result};

/// Refuses every `Celu` node whose `alpha` is not 1.
pub(super) fn check(model: &pb::ModelProto) -> Result<()> {
    let Some(graph) = model.graph.as_ref() else { return Ok(()) };
    for node in graph.node.iter().filter(|n| n.op_type == "Celu") {
        let alpha = node.attribute.iter().find(|a| a.name == "alpha").map_or(1.0, |a| a.f);
        if alpha != 1.0 {
            return Err(ProverError::UnsupportedOp {
                op: "Celu".into(),
                node: node.name.clone(),
                reason: format!(
                    "alpha = {alpha}: tract drops alpha from Celu's negative branch, so the \
                     proof would be of a wrong value; export it as Elu on x / alpha times alpha"
                ),
            });
        }
    }
    Ok(())
}
