//! Conformance over real ONNX models: the project's own (`models/`) and, when present,
//! the peer corpus in `../shared/models` that nobody here wrote.
//!
//! For each model: tract float output vs the quantized reference within `TOLERANCE`;
//! real shard proofs whose public outputs equal the reference bit for bit, verifying
//! natively; a flipped proof byte and a wrong public instance rejected.

use std::path::{Path, PathBuf};

use zkattest_prover::artifacts::compiled::CompileOptions;
use zkattest_prover::artifacts::{CompiledModel, SetupInfo};
use zkattest_prover::circuit::instance;
use zkattest_prover::model::import::tract_float_outputs;
use zkattest_prover::model::input::InputData;
use zkattest_prover::pipeline::{prove, verify};
use zkattest_prover::proof::srs::default_cache_dir;
use zkattest_prover::proof::Srs;
use zkattest_prover::quant::calibrate::argmax;
use zkattest_prover::{Fr, ProverError};

/// Largest |quantized - float| accepted on any output.
const TOLERANCE: f64 = 0.06;
/// Bounds proving memory and time in the test suite (the CLI default is 17).
const MAX_K: u32 = 16;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn check(dir: &Path) {
    check_within(dir, TOLERANCE, MAX_K);
}

/// [`check`] with its own tolerance and circuit size bound; returns the proven outputs and
/// the float ones.
fn check_within(dir: &Path, tolerance: f64, max_k: u32) -> (Vec<f64>, Vec<f64>) {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_string();
    let input = InputData::from_file(dir.join("input.json")).expect("input.json");
    let onnx = dir.join("network.onnx");
    let opts = CompileOptions { max_k, ..CompileOptions::default() };
    let compiled = CompiledModel::compile(&onnx, std::slice::from_ref(&input), &opts)
        .unwrap_or_else(|e| panic!("{name}: compile: {e}"));

    // Float vs quantized reference.
    let float: Vec<f64> = tract_float_outputs(&onnx, &input)
        .expect("tract")
        .into_iter()
        .flatten()
        .map(f64::from)
        .collect();
    let q = &compiled.model;
    let trace = q.eval(&q.quantize_inputs(&input.values).expect("quantize")).expect("eval");
    let reference: Vec<f64> = q.outputs_f64(&trace).into_iter().flatten().collect();
    assert_eq!(float.len(), reference.len(), "{name}: output count");
    let err = float.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(err <= tolerance, "{name}: max abs error {err} > {tolerance}");
    if let (Some(f), Some(r)) = (argmax(&float), argmax(&reference)) {
        // Values closer than the quantization error may tie after rounding: the proven
        // argmax must be a float maximum up to twice the measured error.
        assert!(
            float[r] >= float[f] - 2.0 * err,
            "{name}: argmax {r} ({}) is not a maximum ({f}: {})",
            float[r],
            float[f]
        );
    }

    // Real proofs.
    let srs = Srs::dev(&default_cache_dir(), compiled.plan.k).expect("srs");
    let keys = tempfile::tempdir().expect("tempdir");
    SetupInfo::run(&compiled, keys.path(), &srs, &|_| ()).expect("setup");
    let (proof, _) = prove(&compiled, keys.path(), &srs, &input.values, Fr::from(3u64), 1, &|_| ())
        .unwrap_or_else(|e| panic!("{name}: prove: {e}"));
    let expect_q: Vec<i64> = q.outputs_q(&trace);
    assert_eq!(proof.outputs_q, expect_q, "{name}: proven outputs differ from the reference");
    let last = &proof.shards[proof.shards.len() - 1].instances;
    if expect_q.len() <= instance::MAX_OUTPUTS {
        for (i, v) in expect_q.iter().enumerate() {
            assert_eq!(
                last[instance::OUTPUT0 + i],
                zkattest_prover::circuit::fe(*v),
                "{name}: public output {i}"
            );
        }
    }
    verify(&compiled, keys.path(), &srs, &proof).unwrap_or_else(|e| panic!("{name}: verify: {e}"));

    let mut flipped = proof.clone();
    let len = flipped.shards[0].proof.len();
    flipped.shards[0].proof[len / 2] ^= 0x10;
    assert!(
        matches!(verify(&compiled, keys.path(), &srs, &flipped), Err(ProverError::Rejected(_))),
        "{name}: flipped byte accepted"
    );
    let mut wrong = proof.clone();
    wrong.shards[0].instances[instance::IN_COMMIT] += Fr::from(1u64);
    assert!(
        matches!(verify(&compiled, keys.path(), &srs, &wrong), Err(ProverError::Rejected(_))),
        "{name}: wrong instance accepted"
    );
    println!(
        "{name}: {} shard(s) at k={}, scale 2^{}, lookup {} bits, max err {err:.4}",
        proof.shards.len(),
        compiled.plan.k,
        q.settings.scale_bits,
        q.settings.lookup_bits
    );
    (proof.outputs, float)
}

/// A mean over 300 values between 15 and 88: its weights (1/300) once rounded to zero at the
/// value scale and a valid proof said 0.0; the weight scale keeps them (issue 15). At the
/// CLI's default circuit bound, as a user runs it.
#[test]
fn op_family_1l_mean_proves_the_mean_within_a_hundredth() {
    let Some(dir) = zkattest_testkit::shared_dir("op-families") else { return };
    let max_k = CompileOptions::default().max_k;
    let (proven, float) = check_within(&dir.join("1l_mean"), 0.01, max_k);
    assert!(float.iter().all(|f| (f - 49.97).abs() < 0.01), "onnxruntime's 49.97: {float:?}");
    assert!(proven.iter().all(|p| (p - 49.97).abs() <= 0.01), "{proven:?}");
}

/// `x / 10000` on 0/1 inputs: at one global scale the outputs were 0; each node at its own
/// scale keeps them to the leading digits (issue 15).
#[test]
fn op_family_1l_tiny_div_keeps_the_outputs_leading_digits() {
    let Some(dir) = zkattest_testkit::shared_dir("op-families") else { return };
    let (proven, float) = check_within(&dir.join("1l_tiny_div"), 1e-6, MAX_K);
    assert!(float.iter().any(|f| (f - 1e-4).abs() < 1e-9), "onnxruntime's 1e-4: {float:?}");
    for (p, f) in proven.iter().zip(&float) {
        assert!((p - f).abs() <= 0.005 * 1e-4, "proven {p} for {f}");
    }
}

macro_rules! own {
    ($($(#[$attr:meta])* $name:ident),* $(,)?) => {$(
        #[test]
        $(#[$attr])*
        fn $name() {
            check(&repo().join("models").join(stringify!($name)));
        }
    )*};
}

macro_rules! shared {
    ($($(#[$attr:meta])* $test:ident => $dir:literal),* $(,)?) => {$(
        #[test]
        $(#[$attr])*
        fn $test() {
            if let Some(corpus) = zkattest_testkit::shared_dir("models") {
                check(&corpus.join($dir));
            }
        }
    )*};
}

/// scikit-learn pipelines exported by skl2onnx (`scripts/make_sklearn_models.py`): proven and
/// compared with onnxruntime's own output (`float_output` in input.json), labels exactly. The
/// float reference of [`check_within`] runs tract on the ai.onnx.ml ops rewritten into standard
/// ONNX, so onnxruntime is what checks the rewrite.
fn check_sklearn(name: &str, tolerance: f64, classifier: bool) {
    let dir = repo().join("models").join(name);
    let (proven, float) = check_within(&dir, tolerance, MAX_K);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("input.json")).expect("input.json"))
            .expect("input.json parses");
    let onnxruntime: Vec<f64> = json["float_output"]
        .as_array()
        .expect("float_output")
        .iter()
        .flat_map(|o| o.as_array().expect("one list per output").iter())
        .map(|v| v.as_f64().expect("a number"))
        .collect();
    assert_eq!(onnxruntime.len(), proven.len(), "{name}: output count");
    for (i, ((p, f), o)) in proven.iter().zip(&float).zip(&onnxruntime).enumerate() {
        assert!(
            (f - o).abs() <= 1e-4 * o.abs().max(1.0),
            "{name}: output {i}: tract {f}, onnxruntime {o}"
        );
        assert!((p - o).abs() <= tolerance, "{name}: output {i}: proven {p}, onnxruntime {o}");
    }
    if classifier {
        assert_eq!(proven[0], onnxruntime[0], "{name}: the label (first output) is exact");
    }
}

macro_rules! sklearn {
    ($($(#[$attr:meta])* $name:ident => $kind:ident within $tol:expr),* $(,)?) => {$(
        #[test]
        $(#[$attr])*
        fn $name() {
            check_sklearn(stringify!($name), $tol, stringify!($kind) == "classifier");
        }
    )*};
}

// Raw breast-cancer features (areas near 2,500 beside ratios near 0.005) each at their own
// input scale; the diabetes regression's target is near 150. The PR tier proves a linear
// model, a tree ensemble and the MLP; the full tier all.
sklearn!(
    sklearn_logreg => classifier within 0.02,
    #[ignore = "full tier (scripts/test.sh --full)"]
    sklearn_linear_svc => classifier within 0.1,
    #[ignore = "full tier (scripts/test.sh --full)"]
    sklearn_ridge => regressor within 0.5,
    sklearn_mlp => classifier within 0.02,
    #[ignore = "full tier (scripts/test.sh --full)"]
    sklearn_decision_tree => classifier within 0.02,
    #[ignore = "full tier (scripts/test.sh --full)"]
    sklearn_random_forest => classifier within 0.02,
    sklearn_gbdt => classifier within 0.02,
    #[ignore = "full tier (scripts/test.sh --full)"]
    sklearn_tree_iris => classifier within 0.02,
    sklearn_gbdt_iris => classifier within 0.02,
    sklearn_logreg_iris_names => classifier within 0.02,
    sklearn_forest_regressor => regressor within 0.5,
);

/// String class labels (iris trained on its class names): the proven label is the index of
/// onnxruntime's name (checked above), and the compiled model names it.
#[test]
fn sklearn_string_labels_name_the_proven_class() {
    let dir = repo().join("models").join("sklearn_logreg_iris_names");
    let input = InputData::from_file(dir.join("input.json")).expect("input.json");
    let opts = CompileOptions { max_k: MAX_K, ..CompileOptions::default() };
    let compiled =
        CompiledModel::compile(&dir.join("network.onnx"), std::slice::from_ref(&input), &opts)
            .expect("compile");
    let names = ["setosa", "versicolor", "virginica"];
    assert_eq!(compiled.graph.outputs[0].info.classes, names);
    let q = &compiled.model;
    let trace = q.eval(&q.quantize_inputs(&input.values).expect("quantize")).expect("eval");
    let outputs: Vec<f64> = q.outputs_f64(&trace).into_iter().flatten().collect();
    // Test sample #0 is a virginica (the model's README).
    assert_eq!(compiled.graph.class_labels(&outputs)["label"], vec!["virginica".to_string()]);
}

/// Every scikit-learn model on 20 held-out rows (`samples.json`, onnxruntime's outputs),
/// compiled with those rows as its calibration samples (as a user calibrates on
/// representative data), then the quantized reference (what the proofs prove, bit for bit)
/// on each row: labels all agree, scores and targets within 5 % (relative above 1).
#[test]
fn sklearn_models_agree_with_onnxruntime_on_twenty_rows() {
    let mut report = Vec::new();
    for entry in std::fs::read_dir(repo().join("models")).expect("models/").flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !name.starts_with("sklearn_") {
            continue;
        }
        let dir = entry.path();
        let samples: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("samples.json")).expect("samples.json"),
        )
        .expect("samples.json parses");
        let rows = samples["input_data"].as_array().expect("input_data");
        let want = samples["float_output"].as_array().expect("float_output");
        assert_eq!(rows.len(), 20, "{name}: 20 rows");
        let inputs: Vec<InputData> = rows
            .iter()
            .map(|row| InputData {
                values: vec![row
                    .as_array()
                    .expect("a row")
                    .iter()
                    .filter_map(|v| v.as_f64())
                    .collect()],
                shapes: None,
            })
            .collect();
        let opts = CompileOptions { max_k: MAX_K, ..CompileOptions::default() };
        let compiled = CompiledModel::compile(&dir.join("network.onnx"), &inputs, &opts)
            .unwrap_or_else(|e| panic!("{name}: compile: {e}"));
        let q = &compiled.model;
        let (mut labels, mut worst) = (0, 0f64);
        for (input, want) in inputs.iter().zip(want) {
            let want: Vec<f64> =
                want.as_array().expect("outputs").iter().filter_map(|v| v.as_f64()).collect();
            let trace = q
                .eval(&q.quantize_inputs(&input.values).unwrap_or_else(|e| panic!("{name}: {e}")))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let got: Vec<f64> = q.outputs_f64(&trace).concat();
            assert_eq!(got.len(), want.len(), "{name}: outputs");
            let classifier = q.outputs.len() == 2;
            labels += usize::from(classifier && got[0] == want[0]);
            let scores = if classifier { 1 } else { 0 };
            for (g, w) in got[scores..].iter().zip(&want[scores..]) {
                worst = worst.max((g - w).abs() / w.abs().max(1.0));
            }
        }
        println!("{name}: labels {labels}/20, largest error {worst:.4}");
        report.push((name, labels, worst, q.outputs.len() == 2));
    }
    assert!(report.len() >= 10, "{report:?}");
    for (name, labels, worst, classifier) in &report {
        assert!(!classifier || *labels == 20, "{name}: {labels}/20 labels agree");
        assert!(*worst <= 0.05, "{name}: error {worst} (relative above 1)");
    }
}

// LeNet-5 (30 s) is the full tier's: its convolutions and pools are the shared corpus's too.
own!(
    lstm_seq,
    #[ignore = "full tier (scripts/test.sh --full)"]
    gru_seq,
    digits_mlp,
    digits_cnn,
    wide_mlp,
    ops_mix,
    ops_mix2,
    many_outputs,
    top_k,
    #[ignore = "full tier (scripts/test.sh --full)"]
    lenet5,
);

// The PR tier proves one model of each op family of the corpus; the full tier all of them.
shared!(
    shared_1l_average => "1l_average",
    shared_1l_batch_norm => "1l_batch_norm",
    shared_1l_conv => "1l_conv",
    shared_1l_leakyrelu => "1l_leakyrelu",
    shared_1l_max_pool => "1l_max_pool",
    shared_1l_prelu => "1l_prelu",
    shared_1l_sigmoid => "1l_sigmoid",
    shared_2l_relu_sigmoid_conv => "2l_relu_sigmoid_conv",
    shared_4l_relu_conv_fc => "4l_relu_conv_fc",
    shared_sklearn_mlp => "sklearn_mlp",
    #[ignore = "full tier (scripts/test.sh --full)"] shared_1l_flatten => "1l_flatten",
    #[ignore = "full tier (scripts/test.sh --full)"] shared_1l_linear => "1l_linear",
    #[ignore = "full tier (scripts/test.sh --full)"] shared_1l_mlp => "1l_mlp",
    #[ignore = "full tier (scripts/test.sh --full)"] shared_1l_relu => "1l_relu",
    #[ignore = "full tier (scripts/test.sh --full)"] shared_1l_reshape => "1l_reshape",
    #[ignore = "full tier (scripts/test.sh --full)"] shared_2l_relu_fc => "2l_relu_fc",
    #[ignore = "full tier (scripts/test.sh --full)"] shared_2l_relu_sigmoid_small => "2l_relu_sigmoid_small",
    #[ignore = "full tier (scripts/test.sh --full)"] shared_3l_relu_conv_fc => "3l_relu_conv_fc",
);

macro_rules! family {
    ($($(#[$attr:meta])* $test:ident => $dir:literal within $tol:expr),* $(,)?) => {$(
        #[test]
        $(#[$attr])*
        fn $test() {
            if let Some(families) = zkattest_testkit::shared_dir("op-families") {
                check_within(&families.join($dir), $tol, MAX_K);
            }
        }
    )*};
}

// Issue 16: the op families that now lower. The PR tier proves one per gadget (a partial
// table, a pattern fused into one table, a product with a table, softmax's exp and
// division, layer norm's square root and division, comparisons with logic and selection,
// a tree's ArgMax and gathers); the full tier all of them.
family!(
    #[ignore = "full tier (scripts/test.sh --full)"] family_tanh => "1l_tanh" within 0.02,
    #[ignore = "full tier (scripts/test.sh --full)"] family_erf => "1l_erf" within 0.02,
    #[ignore = "full tier (scripts/test.sh --full)"] family_exp => "exp" within 0.05,
    family_log => "log" within 0.05,
    #[ignore = "full tier (scripts/test.sh --full)"] family_sqrt => "1l_sqrt" within 0.05,
    #[ignore = "full tier (scripts/test.sh --full)"] family_softplus => "softplus" within 0.02,
    family_gelu => "1l_gelu_noappx" within 0.02,
    #[ignore = "full tier (scripts/test.sh --full)"] family_gelu_tanh => "1l_gelu_tanh_appx" within 0.05,
    family_softmax => "1l_softmax" within 0.02,
    #[ignore = "full tier (scripts/test.sh --full)"] family_softsign => "softsign" within 0.02,
    #[ignore = "full tier (scripts/test.sh --full)"] family_eltwise_div => "1l_eltwise_div" within 0.05,
    family_elu => "1l_elu" within 0.02,
    #[ignore = "full tier (scripts/test.sh --full)"] family_var => "1l_var" within 0.02,
    #[ignore = "full tier (scripts/test.sh --full)"] family_instance_norm => "1l_instance_norm" within 0.05,
    #[ignore = "full tier (scripts/test.sh --full)"] family_rnn => "rnn" within 0.05,
    family_layernorm => "layernorm" within 0.05,
    #[ignore = "full tier (scripts/test.sh --full)"] family_conv_transpose => "1l_conv_transpose" within 0.05,
    family_upsample => "1l_upsample" within 0.02,
    family_where => "1l_where" within 0.02,
    family_boolean => "boolean" within 0.0,
    family_integer_div => "integer_div" within 0.0,
    family_decision_tree => "decision_tree" within 0.0,
    #[ignore = "full tier (scripts/test.sh --full)"] family_random_forest => "random_forest" within 1e-3,
    #[ignore = "full tier (scripts/test.sh --full)"] family_gather_elements => "gather_elements" within 0.02,
    family_lstm => "lstm" within 0.02,
    family_topk => "1l_topk" within 0.02,
    #[ignore = "full tier (scripts/test.sh --full)"] family_gru => "gru" within 0.02,
    family_xgboost => "xgboost" within 0.02,
);

/// A GPT-2 block (layer norms, attention with a causal mask and softmax, a tanh-GELU MLP)
/// on 64 positions of 64 features: 17 shards at k = 18 (`--max-k 18`; at 17 its cut at the
/// softmax does not plan). Its input rows are constant, so both layer norms divide a zero by
/// `sqrt(0 + 1e-5)`, a root below one step of the variance's scale: the tabulated
/// `sqrt(x + eps)` keeps it a positive denominator.
#[test]
#[ignore = "full tier (scripts/test.sh --full)"]
fn family_self_attention() {
    if let Some(families) = zkattest_testkit::shared_dir("op-families") {
        check_within(&families.join("self_attention"), 0.01, 18);
    }
}

/// Every op family is proven above.
#[test]
fn op_families_are_fully_listed() {
    let Some(dir) = zkattest_testkit::shared_dir("op-families") else { return };
    let listed = include_str!("conformance.rs");
    for e in std::fs::read_dir(&dir).expect("../shared/op-families").flatten() {
        if e.path().join("network.onnx").is_file() {
            let name = e.file_name().to_string_lossy().to_string();
            assert!(listed.contains(&format!("\"{name}\"")), "{name} is not proven by any test");
        }
    }
}

/// Every model folder of the corpus is listed above, so a new one is not silently skipped.
#[test]
fn shared_corpus_is_fully_listed() {
    let Some(dir) = zkattest_testkit::shared_dir("models") else { return };
    let entries = std::fs::read_dir(&dir).expect("../shared/models");
    let listed = include_str!("conformance.rs");
    for e in entries.flatten() {
        if e.path().join("network.onnx").is_file() {
            let name = e.file_name().to_string_lossy().to_string();
            assert!(
                listed.contains(&format!("\"{name}\"")),
                "{name} is not in the conformance list"
            );
        }
    }
}
