//! Model inputs as stored in `input.json`.
//!
//! The format is the one of the EZKL example corpus: `{"input_data": [[flat floats]...],
//! "input_shapes": [[dims]...]}` with one flat, row-major list per model input. Other
//! fields (`output_data`, `float_output`, ...) are ignored, so files written by other
//! tools load unchanged.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{ProverError, Result};

/// The values fed to a model: one flat row-major list per model input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputData {
    /// Flat values of each input, in the model's input order. Booleans (EZKL writes them
    /// for boolean inputs) read as 0 and 1.
    #[serde(rename = "input_data", deserialize_with = "numbers_or_booleans")]
    pub values: Vec<Vec<f64>>,
    /// Shape of each input, when the file gives them (EZKL files often omit the batch axis).
    #[serde(rename = "input_shapes", default, skip_serializing_if = "Option::is_none")]
    pub shapes: Option<Vec<Vec<usize>>>,
}

/// One element of `input_data`: a number, or a boolean read as 0 or 1.
struct Element(f64);

impl<'de> Deserialize<'de> for Element {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Element;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number or a boolean")
            }
            fn visit_f64<E>(self, v: f64) -> Result<Element, E> {
                Ok(Element(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Element, E> {
                Ok(Element(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Element, E> {
                Ok(Element(v as f64))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Element, E> {
                Ok(Element(f64::from(u8::from(v))))
            }
        }
        d.deserialize_any(V)
    }
}

fn numbers_or_booleans<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Vec<f64>>, D::Error> {
    let lists: Vec<Vec<Element>> = Vec::deserialize(d)?;
    Ok(lists.into_iter().map(|l| l.into_iter().map(|e| e.0).collect()).collect())
}

impl InputData {
    /// Reads and checks an `input.json` file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<InputData> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ProverError::io(path, e))?;
        Self::from_json(&text, path)
    }

    /// Parses and checks the JSON text of an input file; `path` only labels errors.
    pub fn from_json(text: &str, path: &Path) -> Result<InputData> {
        let json_err = |reason: String| ProverError::Json { path: path.to_path_buf(), reason };
        // serde_json's message carries line and column, which is what a user needs to fix it.
        let mut data: InputData =
            serde_json::from_str(text).map_err(|e| json_err(e.to_string()))?;
        data.check().map_err(json_err)?;
        // EZKL's example files may list more shapes than inputs (`1l_elu`: three shapes, one
        // input); the ones past the inputs describe nothing, and `check` has matched the rest.
        if let Some(shapes) = &mut data.shapes {
            shapes.truncate(data.values.len());
        }
        Ok(data)
    }

    /// Writes the inputs as pretty-printed JSON.
    pub fn to_file(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| ProverError::Json { path: path.to_path_buf(), reason: e.to_string() })?;
        std::fs::write(path, text).map_err(|e| ProverError::io(path, e))
    }

    /// Flat values converted to f32, the precision tract runs models in.
    pub fn values_f32(&self) -> Vec<Vec<f32>> {
        self.values.iter().map(|v| v.iter().map(|&x| x as f32).collect()).collect()
    }

    /// Consistency between `input_data` and `input_shapes`.
    fn check(&self) -> std::result::Result<(), String> {
        if self.values.is_empty() {
            return Err("`input_data` holds no input".into());
        }
        let Some(shapes) = &self.shapes else {
            return Ok(());
        };
        if shapes.len() < self.values.len() {
            return Err(format!(
                "`input_shapes` has {} shapes but `input_data` has {} inputs",
                shapes.len(),
                self.values.len()
            ));
        }
        for (i, (shape, values)) in shapes.iter().zip(&self.values).enumerate() {
            let numel = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
            if numel != Some(values.len()) {
                return Err(format!(
                    "input {i}: shape {shape:?} does not hold the {} given values",
                    values.len()
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<InputData> {
        InputData::from_json(text, Path::new("input.json"))
    }

    fn json_reason(err: ProverError) -> String {
        match err {
            ProverError::Json { reason, .. } => reason,
            other => panic!("expected a JSON error, got {other:?}"),
        }
    }

    #[test]
    fn test_parses_and_ignores_extra_fields() {
        let data = parse(r#"{"input_data": [[1, 2.5, -3]], "output_data": [[0]], "x": 1}"#)
            .expect("valid file");
        assert_eq!(data.values, vec![vec![1.0, 2.5, -3.0]]);
        assert_eq!(data.shapes, None);
    }

    #[test]
    fn test_parses_shapes() {
        let data = parse(r#"{"input_shapes": [[1, 2]], "input_data": [[1, 2]]}"#).expect("valid");
        assert_eq!(data.shapes, Some(vec![vec![1, 2]]));
    }

    #[test]
    fn test_rejects_missing_input_data() {
        let reason = json_reason(parse(r#"{"input_shapes": [[1]]}"#).unwrap_err());
        assert!(reason.contains("input_data"), "{reason}");
    }

    #[test]
    fn test_rejects_syntax_error_with_position() {
        let reason = json_reason(parse("{\"input_data\": [[1, 2,]]}").unwrap_err());
        assert!(reason.contains("line 1"), "{reason}");
    }

    #[test]
    fn test_rejects_non_numbers() {
        let reason = json_reason(parse(r#"{"input_data": [[1, "a"]]}"#).unwrap_err());
        assert!(reason.contains("invalid type"), "{reason}");
    }

    #[test]
    fn test_rejects_empty_and_inconsistent_shapes() {
        assert!(json_reason(parse(r#"{"input_data": []}"#).unwrap_err()).contains("no input"));
        let reason = json_reason(
            parse(r#"{"input_data": [[1, 2, 3]], "input_shapes": [[2, 2]]}"#).unwrap_err(),
        );
        assert!(reason.contains("[2, 2]"), "{reason}");
        let reason =
            json_reason(parse(r#"{"input_data": [[1], [2]], "input_shapes": [[1]]}"#).unwrap_err());
        assert!(reason.contains("1 shapes"), "{reason}");
        // Shapes past the inputs (EZKL's example files) describe nothing and are dropped.
        let data = parse(r#"{"input_data": [[1]], "input_shapes": [[1], [3, 2]]}"#).expect("ok");
        assert_eq!(data.shapes, Some(vec![vec![1]]));
    }

    #[test]
    fn test_booleans_read_as_zero_and_one() {
        let data = parse(r#"{"input_data": [[true, false, 2.5]]}"#).expect("valid");
        assert_eq!(data.values, vec![vec![1.0, 0.0, 2.5]]);
        let reason = json_reason(parse(r#"{"input_data": [["a"]]}"#).unwrap_err());
        assert!(reason.contains("expected a number or a boolean"), "{reason}");
    }

    #[test]
    fn test_missing_file_is_io_error() {
        let err = InputData::from_file("/nonexistent/zkattest/input.json").unwrap_err();
        assert!(matches!(err, ProverError::Io { .. }), "{err:?}");
    }

    #[test]
    fn test_round_trips_through_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("input.json");
        let data = InputData { values: vec![vec![0.5, -1.25]], shapes: Some(vec![vec![1, 2]]) };
        data.to_file(&path).expect("write");
        assert_eq!(InputData::from_file(&path).expect("read"), data);
        let bare = InputData { values: vec![vec![3.0]], shapes: None };
        bare.to_file(&path).expect("write");
        assert_eq!(InputData::from_file(&path).expect("read"), bare);
    }
}
