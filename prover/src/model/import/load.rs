//! Loading the ONNX file with tract and fixing its input shapes.

use std::path::Path;

use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;
use tract_onnx::tract_hir::internal::DimLike;

use crate::error::{ProverError, Result};
use crate::model::graph::{ElemType, TensorInfo};
use crate::model::input::InputData;

/// Wraps a tract error about the model at `path`.
pub(super) fn onnx_err(path: &Path) -> impl Fn(TractError) -> ProverError + '_ {
    move |e| ProverError::Onnx { path: path.to_path_buf(), reason: format!("{e:#}") }
}

/// Parses the ONNX file (a missing file is an I/O error, not a tract one), with f64 models
/// retyped to f32 (see `doubles`), the ai.onnx.ml ops of scikit-learn exports rewritten into standard ONNX first, and
/// recurrences run in reverse rewritten around a tract bug (see `reverse`).
pub(super) fn load(path: &Path) -> Result<InferenceModel> {
    std::fs::metadata(path).map_err(|e| ProverError::io(path, e))?;
    let onnx = tract_onnx::onnx();
    let mut proto = onnx.proto_model_for_path(path).map_err(onnx_err(path))?;
    super::doubles::rewrite(&mut proto);
    super::ml::rewrite(&mut proto)?;
    super::reverse::rewrite(&mut proto)?;
    super::legacy::rewrite(&mut proto);
    super::celu::rewrite(&mut proto)?;
    // External tensor data is resolved against the model's folder, as tract does.
    let dir = path.parent().and_then(Path::to_str);
    let parsed = onnx.parse(&proto, dir).map_err(onnx_err(path))?;
    if !parsed.unresolved_inputs.is_empty() {
        return Err(ProverError::Onnx {
            path: path.to_path_buf(),
            reason: format!("unresolved inputs {:?}", parsed.unresolved_inputs),
        });
    }
    Ok(parsed.model)
}

/// Fixes the input facts to concrete f32 shapes and types the model.
pub(super) fn typed_model(
    mut model: InferenceModel,
    shapes: Option<&[Vec<usize>]>,
    path: &Path,
) -> Result<TypedModel> {
    let n = model.inputs.len();
    if let Some(shapes) = shapes {
        if shapes.len() != n {
            return Err(ProverError::InputShape(format!(
                "model has {n} inputs, got {} shapes",
                shapes.len()
            )));
        }
    }
    for i in 0..n {
        let name = model.node(model.inputs[i].node).name.clone();
        let fact = model.input_fact(i).map_err(onnx_err(path))?.clone();
        // Floats of every width are computed in f32; integers and booleans keep their type,
        // so integer ops keep their semantics (the plan refuses those that differ).
        let dt = match fact.datum_type.concretize() {
            None => f32::datum_type(),
            Some(dt) if dt.is_float() => f32::datum_type(),
            Some(dt) if elem_type(dt).is_some() => dt,
            Some(dt) => {
                return Err(ProverError::InputShape(format!(
                    "input {name} has type {dt:?}; float, integer and boolean inputs are \
                     supported"
                )))
            }
        };
        let shape = resolve_shape(&name, &fact, shapes.map(|s| s[i].as_slice()))?;
        model.set_input_fact(i, dt.fact(shape).into()).map_err(onnx_err(path))?;
    }
    model.into_typed().map_err(onnx_err(path))
}

/// The concrete shape of input `name` from its ONNX fact and the optional given shape.
fn resolve_shape(name: &str, fact: &InferenceFact, given: Option<&[usize]>) -> Result<Vec<usize>> {
    let mismatch = |why: String| ProverError::InputShape(format!("input {name}: {why}"));
    // Per axis: Some(size) when the ONNX file fixes it, None when symbolic.
    let dims: Option<Vec<Option<usize>>> = (!fact.shape.is_open()).then(|| {
        fact.shape.dims().map(|d| d.concretize().and_then(|d| d.to_usize().ok())).collect()
    });
    match (dims, given) {
        (None, Some(given)) => Ok(given.to_vec()),
        (None, None) => Err(mismatch("rank unknown; give input_shapes".into())),
        (Some(dims), None) => dims
            .iter()
            .enumerate()
            .map(|(k, d)| match d {
                Some(d) => Ok(*d),
                // A symbolic leading axis is the batch: prove one sample.
                None if k == 0 => Ok(1),
                None => Err(mismatch(format!("axis {k} is symbolic; give input_shapes"))),
            })
            .collect(),
        (Some(dims), Some(given)) => {
            // EZKL's input_shapes leave out the batch axis.
            let batch_free = given.len() + 1 == dims.len() && dims[0].is_none_or(|b| b == 1);
            let shape: Vec<usize> =
                if batch_free { [&[1], given].concat() } else { given.to_vec() };
            let fits = shape.len() == dims.len()
                && shape.iter().zip(&dims).all(|(s, d)| d.is_none_or(|d| d == *s));
            if !fits {
                return Err(mismatch(format!("shape {given:?} does not fit the model's {dims:?}")));
            }
            Ok(shape)
        }
    }
}

/// Input tensors for tract, checked against the typed model's input facts.
pub(super) fn input_tensors(model: &TypedModel, inputs: &InputData) -> Result<TVec<TValue>> {
    let facts = model.input_outlets().map(|o| o.to_vec()).unwrap_or_default();
    if facts.len() != inputs.values.len() {
        return Err(ProverError::InputShape(format!(
            "model has {} inputs, input data has {}",
            facts.len(),
            inputs.values.len()
        )));
    }
    let mut tensors = TVec::new();
    for (outlet, values) in facts.iter().zip(inputs.values_f32()) {
        let name = &model.node(outlet.node).name;
        let fact =
            model.outlet_fact(*outlet).map_err(|e| ProverError::InputShape(e.to_string()))?;
        let shape = fact.shape.as_concrete().ok_or_else(|| {
            ProverError::InputShape(format!("input {name} has symbolic shape {:?}", fact.shape))
        })?;
        if let Some(elem) = elem_type(fact.datum_type) {
            if let Some((x, what)) = values.iter().find_map(|&x| Some((x, elem.reject(x.into())?)))
            {
                return Err(ProverError::InputShape(format!("input {name} holds {x}, not {what}")));
            }
        }
        let tensor = tract_ndarray::ArrayD::from_shape_vec(shape, values).map_err(|e| {
            ProverError::InputShape(format!("input {name} of shape {shape:?}: {e}"))
        })?;
        let tensor = tensor
            .into_tensor()
            .cast_to_dt(fact.datum_type)
            .map_err(|e| ProverError::InputShape(format!("input {name}: {e}")))?
            .into_owned();
        tensors.push(tensor.into_tvalue());
    }
    Ok(tensors)
}

/// Names and concrete shapes of the model inputs.
pub(super) fn input_infos(model: &TypedModel) -> Result<Vec<TensorInfo>> {
    let outlets = model.input_outlets().map_err(|e| ProverError::InputShape(e.to_string()))?;
    outlets
        .iter()
        .map(|&o| {
            let name = model.node(o.node).name.clone();
            let fact = model.outlet_fact(o).map_err(|e| ProverError::InputShape(e.to_string()))?;
            let shape = fact
                .shape
                .as_concrete()
                .ok_or_else(|| {
                    ProverError::InputShape(format!(
                        "input {name} has symbolic shape {:?}",
                        fact.shape
                    ))
                })?
                .to_vec();
            let elem = elem_type(fact.datum_type).unwrap_or_default();
            Ok(TensorInfo { name, shape, elem, classes: Vec::new() })
        })
        .collect()
}

/// The kind of number a tensor of type `dt` holds, `None` for types zkattest cannot read
/// (strings, quantized and complex types).
pub(super) fn elem_type(dt: DatumType) -> Option<ElemType> {
    if dt.is_float() {
        Some(ElemType::Float)
    } else if dt == bool::datum_type() {
        Some(ElemType::Bool)
    } else if dt.is_integer() && !dt.is_quantized() {
        Some(ElemType::Integer)
    } else {
        None
    }
}
