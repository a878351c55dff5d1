//! Models stored in doubles, computed as floats.
//!
//! Every float width is computed in f32 before it is quantized (the input facts are f32),
//! so a model whose weights, constants and casts are f64 (scikit-learn models converted
//! with doubles, some PyTorch exports) would mix f32 inputs with f64 weights, which tract
//! refuses to type. Its f64 tensors, casts and declared types become f32 before parsing;
//! f32 keeps 24 significant bits, far finer than any scale the circuit proves at.

use tract_onnx::pb;
use tract_onnx::pb::type_proto;

const FLOAT: i32 = 1;
const DOUBLE: i32 = 11;

/// Retypes every f64 tensor, cast and declaration of the model (subgraphs included) to f32.
pub(super) fn rewrite(model: &mut pb::ModelProto) {
    if let Some(g) = model.graph.as_mut() {
        graph(g);
    }
}

fn graph(g: &mut pb::GraphProto) {
    for v in g.input.iter_mut().chain(&mut g.output).chain(&mut g.value_info) {
        if let Some(type_proto::Value::TensorType(t)) =
            v.r#type.as_mut().and_then(|t| t.value.as_mut())
        {
            if t.elem_type == DOUBLE {
                t.elem_type = FLOAT;
            }
        }
    }
    g.initializer.iter_mut().for_each(tensor);
    for n in &mut g.node {
        let cast = n.op_type == "Cast";
        for a in &mut n.attribute {
            a.t.iter_mut().chain(&mut a.tensors).for_each(tensor);
            a.g.iter_mut().chain(&mut a.graphs).for_each(graph);
            if cast && a.name == "to" && a.i == i64::from(DOUBLE) {
                a.i = i64::from(FLOAT);
            }
        }
    }
}

fn tensor(t: &mut pb::TensorProto) {
    // Data stored beside the model is read by tract as the type it was written with.
    if t.data_type != DOUBLE || t.data_location == Some(1) {
        return;
    }
    t.data_type = FLOAT;
    let mut values: Vec<f32> = t.double_data.drain(..).map(|d| d as f32).collect();
    values.extend(t.raw_data.chunks_exact(8).map(|c| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(c);
        f64::from_le_bytes(bytes) as f32
    }));
    t.raw_data.clear();
    t.float_data = values;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_become_floats_in_raw_and_typed_data_casts_and_declarations() {
        let raw = [1.5f64, -2.25].iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut model = pb::ModelProto {
            graph: Some(pb::GraphProto {
                initializer: vec![
                    pb::TensorProto { data_type: DOUBLE, raw_data: raw, ..Default::default() },
                    pb::TensorProto {
                        data_type: DOUBLE,
                        double_data: vec![0.5],
                        ..Default::default()
                    },
                    pb::TensorProto { data_type: 7, int64_data: vec![3], ..Default::default() },
                ],
                node: vec![pb::NodeProto {
                    op_type: "Cast".into(),
                    attribute: vec![pb::AttributeProto {
                        name: "to".into(),
                        i: i64::from(DOUBLE),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                input: vec![pb::ValueInfoProto {
                    r#type: Some(pb::TypeProto {
                        value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                            elem_type: DOUBLE,
                            shape: None,
                        })),
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        rewrite(&mut model);
        let g = model.graph.expect("graph");
        assert_eq!(g.initializer[0].float_data, vec![1.5, -2.25]);
        assert!(g.initializer[0].raw_data.is_empty());
        assert_eq!((g.initializer[1].data_type, g.initializer[1].float_data[0]), (FLOAT, 0.5));
        assert_eq!((g.initializer[2].data_type, g.initializer[2].int64_data[0]), (7, 3));
        assert_eq!(g.node[0].attribute[0].i, i64::from(FLOAT));
        let Some(type_proto::Value::TensorType(t)) =
            g.input[0].r#type.as_ref().and_then(|t| t.value.as_ref())
        else {
            panic!("input type")
        };
        assert_eq!(t.elem_type, FLOAT);
    }
}
