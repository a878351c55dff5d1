//! ONNX forms of old opsets that tract does not read.
//!
//! `PRelu` before opset 7 applies a slope of shape `[C]` per channel (axis 1) of an input of
//! any rank, where later opsets broadcast it numpy-style against the last axis. PyTorch's
//! old exports rely on it, and tract refuses them. The slope initializer is reshaped to
//! `[C, 1, ..., 1]`, which means the same under both rules.

use tract_onnx::pb;
use tract_onnx::pb::tensor_shape_proto::{dimension, Dimension};
use tract_onnx::pb::type_proto;

/// Rewrites per-channel `PRelu` slopes of pre-7 models.
pub(super) fn rewrite(model: &mut pb::ModelProto) {
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map_or(0, |o| o.version);
    let Some(graph) = model.graph.as_mut().filter(|_| opset < 7) else { return };
    let ranks: Vec<(String, usize)> = graph
        .input
        .iter()
        .chain(&graph.value_info)
        .filter_map(|v| {
            let type_proto::Value::TensorType(t) = v.r#type.as_ref()?.value.as_ref()?;
            Some((v.name.clone(), t.shape.as_ref()?.dim.len()))
        })
        .collect();
    let rank_of = |name: &str| ranks.iter().find(|(n, _)| n == name).map(|(_, r)| *r);
    let slopes: Vec<(String, usize)> = graph
        .node
        .iter()
        .filter(|n| n.op_type == "PRelu" && n.input.len() == 2)
        .filter_map(|n| Some((n.input[1].clone(), rank_of(&n.input[0])?)))
        .filter(|(_, rank)| *rank > 2)
        .collect();
    for (slope, rank) in slopes {
        let Some(t) = graph.initializer.iter_mut().find(|t| t.name == slope) else { continue };
        if t.dims.len() != 1 || t.dims[0] == 1 {
            continue;
        }
        let channels = t.dims[0];
        t.dims = std::iter::once(channels).chain(std::iter::repeat_n(1, rank - 2)).collect();
        // Old exports also list initializers as graph inputs: keep that declaration in step.
        for v in graph.input.iter_mut().filter(|v| v.name == slope) {
            if let Some(type_proto::Value::TensorType(tt)) =
                v.r#type.as_mut().and_then(|t| t.value.as_mut())
            {
                tt.shape = Some(pb::TensorShapeProto {
                    dim: t
                        .dims
                        .iter()
                        .map(|&d| Dimension {
                            value: Some(dimension::Value::DimValue(d)),
                            ..Default::default()
                        })
                        .collect(),
                });
            }
        }
    }
}
