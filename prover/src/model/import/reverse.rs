//! Recurrent nets run in reverse (`LSTM`, `GRU`, `RNN` with `direction = "reverse"`).
//!
//! tract 0.23.9 runs a lone reverse direction forward (its bidirectional form is right):
//! measured against onnxruntime, errors of 0.08 to 0.39 on small random nets, which would
//! be a valid proof of tract's answer, not the model's. Before tract parses the model, each
//! such node is rewritten as the same node run forward on the time-reversed sequence, its
//! sequence output reversed back; the final states are what the reverse pass ends on.

use tract_onnx::pb;

use super::proto::{attr, unsupported, Emitter};
use crate::error::Result;

/// Rewrites every single-direction reverse recurrence of `model`.
pub(super) fn rewrite(model: &mut pb::ModelProto) -> Result<()> {
    let Some(graph) = model.graph.as_mut() else { return Ok(()) };
    let reversed = |n: &pb::NodeProto| {
        (n.domain.is_empty() || n.domain == "ai.onnx")
            && matches!(n.op_type.as_str(), "LSTM" | "GRU" | "RNN")
            && attr(n, "direction").is_some_and(|a| a.s == b"reverse")
    };
    if !graph.node.iter().any(reversed) {
        return Ok(());
    }
    let mut out = Emitter::default();
    for node in std::mem::take(&mut graph.node) {
        if reversed(&node) {
            forward_on_reversed_time(&mut out, node)?;
        } else {
            out.nodes.push(node);
        }
    }
    graph.node = out.nodes;
    graph.initializer.extend(out.initializers);
    Ok(())
}

/// `node` (reverse) as the forward node on `X` reversed in time, `Y` reversed back.
fn forward_on_reversed_time(out: &mut Emitter, mut node: pb::NodeProto) -> Result<()> {
    if node.input.get(4).is_some_and(|s| !s.is_empty()) {
        return Err(unsupported(&node, "a reverse recurrence with sequence_lens"));
    }
    // Time is axis 0 of X and Y, or axis 1 with `layout = 1` (batch first).
    let time = attr(&node, "layout").map_or(0, |a| a.i);
    let base = node.name.clone();
    let x = node.input.first().cloned().ok_or_else(|| unsupported(&node, "no input"))?;
    let reversed_x = reverse_axis(out, &base, &x, time);
    node.input[0] = reversed_x;
    for a in node.attribute.iter_mut().filter(|a| a.name == "direction") {
        a.s = b"forward".to_vec();
    }
    let y = node.output.first().cloned().unwrap_or_default();
    if !y.is_empty() {
        let forward_y = out.fresh(&base);
        node.output[0] = forward_y.clone();
        out.nodes.push(node);
        let back = reverse_axis(out, &base, &forward_y, time);
        out.node_to(&base, "Identity", &[&back], vec![], &y);
    } else {
        out.nodes.push(node);
    }
    Ok(())
}

/// `Slice(x, starts = -1, ends = -inf, axes = axis, steps = -1)`: `x` reversed along `axis`.
fn reverse_axis(out: &mut Emitter, base: &str, x: &str, axis: i64) -> String {
    let starts = out.ints(base, &[1], vec![-1]);
    let ends = out.ints(base, &[1], vec![i64::MIN]);
    let axes = out.ints(base, &[1], vec![axis]);
    let steps = out.ints(base, &[1], vec![-1]);
    out.node(base, "Slice", &[x, &starts, &ends, &axes, &steps], vec![])
}
