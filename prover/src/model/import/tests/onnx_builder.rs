//! A tiny ONNX graph builder, so tests can exercise ops and variants no corpus model has.

use tract_onnx::pb;
use tract_onnx::pb::attribute_proto::AttributeType;
use tract_onnx::pb::tensor_shape_proto::{dimension, Dimension};
use tract_onnx::pb::type_proto;

/// ONNX element type codes.
const FLOAT: i32 = 1;
const INT64: i32 = 7;

/// Builds a `ModelProto` node by node.
pub struct OnnxBuilder {
    graph: pb::GraphProto,
    opset: i64,
    count: usize,
}

impl OnnxBuilder {
    /// An empty graph at the given default-domain opset.
    pub fn new(opset: i64) -> Self {
        Self {
            graph: pb::GraphProto { name: "test".into(), ..Default::default() },
            opset,
            count: 0,
        }
    }

    /// A float input; `None` dims are symbolic.
    pub fn input(&mut self, name: &str, dims: &[Option<i64>]) -> String {
        self.input_of(name, dims, FLOAT)
    }

    /// An input of ONNX element type `elem_type` (1 float, 7 int64, 9 bool).
    pub fn input_of(&mut self, name: &str, dims: &[Option<i64>], elem_type: i32) -> String {
        let dim = dims
            .iter()
            .map(|d| Dimension {
                value: Some(match d {
                    Some(v) => dimension::Value::DimValue(*v),
                    None => dimension::Value::DimParam("batch".into()),
                }),
                ..Default::default()
            })
            .collect();
        let tensor = type_proto::Tensor { elem_type, shape: Some(pb::TensorShapeProto { dim }) };
        self.graph.input.push(pb::ValueInfoProto {
            name: name.into(),
            r#type: Some(pb::TypeProto {
                value: Some(type_proto::Value::TensorType(tensor)),
                ..Default::default()
            }),
            ..Default::default()
        });
        name.into()
    }

    /// A float initializer (weights).
    pub fn weights(&mut self, dims: &[i64], data: Vec<f32>) -> String {
        let name = self.fresh("w");
        self.graph.initializer.push(pb::TensorProto {
            name: name.clone(),
            dims: dims.to_vec(),
            data_type: FLOAT,
            float_data: data,
            ..Default::default()
        });
        name
    }

    /// An int64 initializer (shapes, indices, axes).
    pub fn ints(&mut self, dims: &[i64], data: Vec<i64>) -> String {
        let name = self.fresh("i");
        self.graph.initializer.push(pb::TensorProto {
            name: name.clone(),
            dims: dims.to_vec(),
            data_type: INT64,
            int64_data: data,
            ..Default::default()
        });
        name
    }

    /// An initializer of a narrower integer type (`elem_type` an ONNX `DataType`: uint8 is 2,
    /// int32 is 6), its values in `int32_data` as ONNX stores them.
    pub fn ints_of(&mut self, dims: &[i64], data: Vec<i32>, elem_type: i32) -> String {
        let name = self.fresh("i");
        self.graph.initializer.push(pb::TensorProto {
            name: name.clone(),
            dims: dims.to_vec(),
            data_type: elem_type,
            int32_data: data,
            ..Default::default()
        });
        name
    }

    /// A node with one output; returns the output name (also the node name).
    pub fn node(
        &mut self,
        op: &str,
        inputs: &[&str],
        attribute: Vec<pb::AttributeProto>,
    ) -> String {
        let name = self.fresh(op);
        self.graph.node.push(pb::NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![name.clone()],
            name: name.clone(),
            op_type: op.into(),
            attribute,
            ..Default::default()
        });
        name
    }

    /// Declares a graph output.
    pub fn output(&mut self, name: &str) {
        self.graph.output.push(pb::ValueInfoProto { name: name.into(), ..Default::default() });
    }

    /// The model.
    pub fn build(self) -> pb::ModelProto {
        pb::ModelProto {
            ir_version: 7,
            opset_import: vec![pb::OperatorSetIdProto {
                domain: String::new(),
                version: self.opset,
            }],
            graph: Some(self.graph),
            ..Default::default()
        }
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.count += 1;
        format!("{prefix}_{}", self.count)
    }
}

/// An int attribute.
pub fn int(name: &str, i: i64) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: AttributeType::Int as i32,
        i,
        ..Default::default()
    }
}

/// An ints attribute.
pub fn ints(name: &str, v: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: AttributeType::Ints as i32,
        ints: v.to_vec(),
        ..Default::default()
    }
}

/// A float attribute.
pub fn float(name: &str, f: f32) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: AttributeType::Float as i32,
        f,
        ..Default::default()
    }
}

/// A floats attribute.
pub fn floats(name: &str, v: &[f32]) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: AttributeType::Floats as i32,
        floats: v.to_vec(),
        ..Default::default()
    }
}

/// A strings attribute.
pub fn strings(name: &str, v: &[&str]) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: AttributeType::Strings as i32,
        strings: v.iter().map(|s| s.as_bytes().to_vec()).collect(),
        ..Default::default()
    }
}

/// A string attribute.
pub fn string(name: &str, s: &str) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: AttributeType::String as i32,
        s: s.as_bytes().to_vec(),
        ..Default::default()
    }
}

/// `n` deterministic pseudo-random values in [-1, 1).
pub fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}
