//! Writing ONNX graphs at the protobuf level: the rewrites that run before tract parses a
//! model (scikit-learn's ai.onnx.ml ops, recurrent nets run in reverse) share these.

use tract_onnx::pb;
use tract_onnx::pb::attribute_proto::AttributeType;

use crate::error::{ProverError, Result};

/// ONNX element type codes.
pub(super) const FLOAT: i32 = 1;
pub(super) const INT64: i32 = 7;

/// Standard nodes and initializers written in place of rewritten ones.
#[derive(Default)]
pub(super) struct Emitter {
    pub nodes: Vec<pb::NodeProto>,
    pub initializers: Vec<pb::TensorProto>,
    count: usize,
}

impl Emitter {
    pub fn fresh(&mut self, base: &str) -> String {
        self.count += 1;
        format!("{base}.zk{}", self.count)
    }

    pub fn node(
        &mut self,
        base: &str,
        op: &str,
        inputs: &[&str],
        attrs: Vec<pb::AttributeProto>,
    ) -> String {
        let name = self.fresh(base);
        self.node_to(base, op, inputs, attrs, &name);
        name
    }

    pub fn node_to(
        &mut self,
        base: &str,
        op: &str,
        inputs: &[&str],
        attrs: Vec<pb::AttributeProto>,
        out: &str,
    ) {
        let name = self.fresh(base);
        self.nodes.push(pb::NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![out.to_string()],
            name,
            op_type: op.into(),
            attribute: attrs,
            ..Default::default()
        });
    }

    pub fn floats(&mut self, base: &str, dims: &[usize], data: Vec<f32>) -> String {
        self.constant(
            base,
            dims,
            pb::TensorProto { data_type: FLOAT, float_data: data, ..Default::default() },
        )
    }

    pub fn ints(&mut self, base: &str, dims: &[usize], data: Vec<i64>) -> String {
        self.constant(
            base,
            dims,
            pb::TensorProto { data_type: INT64, int64_data: data, ..Default::default() },
        )
    }

    /// An initializer of `dims` holding `values`' data; returns its fresh name.
    pub fn constant(&mut self, base: &str, dims: &[usize], values: pb::TensorProto) -> String {
        let name = self.fresh(base);
        let dims = dims.iter().map(|&d| d as i64).collect();
        self.initializers.push(pb::TensorProto { dims, name: name.clone(), ..values });
        name
    }
}

pub(super) fn attr_int(name: &str, i: i64) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: AttributeType::Int as i32,
        i,
        ..Default::default()
    }
}

pub(super) fn attr<'a>(node: &'a pb::NodeProto, name: &str) -> Option<&'a pb::AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

pub(super) fn ints_of(node: &pb::NodeProto, name: &str) -> Vec<i64> {
    attr(node, name).map(|a| a.ints.clone()).unwrap_or_default()
}

pub(super) fn floats_of(node: &pb::NodeProto, name: &str) -> Vec<f32> {
    attr(node, name).map(|a| a.floats.clone()).unwrap_or_default()
}

pub(super) fn strings_of(node: &pb::NodeProto, name: &str) -> Vec<String> {
    attr(node, name)
        .map(|a| a.strings.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect())
        .unwrap_or_default()
}

pub(super) fn string_of(node: &pb::NodeProto, name: &str) -> Option<String> {
    attr(node, name).map(|a| String::from_utf8_lossy(&a.s).into_owned())
}

pub(super) fn unsupported(node: &pb::NodeProto, reason: impl Into<String>) -> ProverError {
    ProverError::UnsupportedOp {
        op: node.op_type.clone(),
        node: node.name.clone(),
        reason: reason.into(),
    }
}

pub(super) fn io(node: &pb::NodeProto, outputs: usize) -> Result<(&str, Vec<&str>)> {
    let x = node.input.first().ok_or_else(|| unsupported(node, "no input"))?;
    if node.output.len() < outputs {
        return Err(unsupported(node, format!("expected {outputs} outputs")));
    }
    Ok((x, node.output.iter().map(String::as_str).collect()))
}
