//! Model import and quantization: ONNX -> float [`graph::Graph`] -> quantized model.

pub mod graph;
pub mod import;
pub mod input;
