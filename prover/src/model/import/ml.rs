//! scikit-learn exports: the ai.onnx.ml ops tract lacks or keeps opaque, rewritten into
//! standard ONNX before tract parses the model.
//!
//! * `Scaler`: `(x - offset) * scale`.
//! * `ZipMap` (skl2onnx's default classifier output, a list of `{class: probability}` maps):
//!   the probabilities tensor itself, in class order, which is what the maps hold.
//! * `LinearClassifier`: scores `x W^T + b`, the post-transform, the label of the largest
//!   score (tract's own lowering ends in an opaque label lookup).
//! * `TreeEnsembleClassifier`, `TreeEnsembleRegressor`: every split is one comparison of a
//!   gathered feature with its threshold; a leaf is reached when all the comparisons on its
//!   path go its way, which is one sum per leaf: with `c_j` the split outcomes,
//!   `sum_(true edges) c_j + sum_(false edges) (1 - c_j) - depth` is 0 on the leaf reached
//!   and negative on every other, so `reached = [that >= 0]`. The scores are the reached
//!   leaves' weights summed (one matrix product), then onnxruntime's post-transform and
//!   label rules, binary case included.
//!
//! The rewritten graph uses only ops the importer lowers (Gather, comparisons, Cast,
//! MatMul, Add, Concat, ArgMax, Where, Softmax, Sigmoid), so each split costs one lookup
//! and each leaf one more.

use std::collections::HashMap;

use tract_onnx::pb;

use super::proto::{
    attr, attr_int, floats_of, ints_of, io, string_of, strings_of, unsupported, Emitter, FLOAT,
    INT64,
};
use crate::error::Result;

const ML: &str = "ai.onnx.ml";

/// Rewrites the ai.onnx.ml ops zkattest lowers; other nodes are kept as they are.
pub(super) fn rewrite(model: &mut pb::ModelProto) -> Result<()> {
    let Some(graph) = model.graph.as_mut() else { return Ok(()) };
    if !graph.node.iter().any(|n| n.domain == ML && handled(&n.op_type)) {
        return Ok(());
    }
    let classes = number_string_labels(graph);
    let mut out = Emitter::default();
    for node in std::mem::take(&mut graph.node) {
        if node.domain != ML || !handled(&node.op_type) {
            out.nodes.push(node);
            continue;
        }
        match node.op_type.as_str() {
            "Scaler" => scaler(&mut out, &node)?,
            "LinearClassifier" => linear_classifier(&mut out, &node)?,
            "ZipMap" => zip_map(&mut out, &node, &mut graph.output)?,
            "TreeEnsembleClassifier" => trees(&mut out, &node, true)?,
            _ => trees(&mut out, &node, false)?,
        }
    }
    graph.node = out.nodes;
    graph.initializer.extend(out.initializers);
    for (output, names) in classes {
        let key = format!("{CLASSES_KEY}{output}");
        let value = serde_json::to_string(&names).unwrap_or_default();
        model.metadata_props.retain(|p| p.key != key);
        model.metadata_props.push(pb::StringStringEntryProto { key, value });
    }
    // The standard ops emitted need opset 13 (ArgMax, Gather, comparisons as written).
    for import in &mut model.opset_import {
        if (import.domain.is_empty() || import.domain == "ai.onnx") && import.version < 13 {
            import.version = 13;
        }
    }
    Ok(())
}

/// Where the rewrite leaves a label output's class names for the importer: a model property
/// `onnx.metadata_props.<CLASSES_KEY><output>` holding them as a JSON list.
pub(super) const CLASSES_KEY: &str = "zkattest.classes.";

/// Classifiers with string labels predict their index instead: `0, 1, …` become the labels
/// (the graph output retyped to int64), and the names are returned by output, to be shown
/// beside the proven index. A circuit proves numbers; the names are public metadata.
fn number_string_labels(graph: &mut pb::GraphProto) -> Vec<(String, Vec<String>)> {
    let mut found = Vec::new();
    for node in graph.node.iter_mut().filter(|n| n.domain == ML) {
        let ints = match node.op_type.as_str() {
            "LinearClassifier" => "classlabels_ints",
            "TreeEnsembleClassifier" => "classlabels_int64s",
            _ => continue,
        };
        let names = strings_of(node, "classlabels_strings");
        if names.is_empty() || !ints_of(node, ints).is_empty() {
            continue;
        }
        let Some(label) = node.output.first().cloned() else { continue };
        node.attribute.retain(|a| a.name != "classlabels_strings");
        node.attribute.push(pb::AttributeProto {
            name: ints.to_string(),
            r#type: pb::attribute_proto::AttributeType::Ints as i32,
            ints: (0..names.len() as i64).collect(),
            ..Default::default()
        });
        found.push((label, names));
    }
    for (label, _) in &mut found {
        // The label may reach the graph output through copies.
        while let Some(copy) =
            graph.node.iter().find(|n| n.op_type == "Identity" && n.input.first() == Some(label))
        {
            match copy.output.first() {
                // A copy onto itself is no ONNX graph; stop rather than loop.
                Some(o) if o != label => *label = o.clone(),
                _ => break,
            }
        }
        for v in graph.output.iter_mut().filter(|v| v.name == *label) {
            if let Some(pb::type_proto::Value::TensorType(t)) =
                v.r#type.as_mut().and_then(|t| t.value.as_mut())
            {
                t.elem_type = INT64;
            }
        }
    }
    found
}

fn handled(op: &str) -> bool {
    matches!(
        op,
        "Scaler"
            | "LinearClassifier"
            | "TreeEnsembleClassifier"
            | "TreeEnsembleRegressor"
            | "ZipMap"
    )
}

/// `ZipMap`: its input passes through; the graph output it fed is retyped as a tensor.
fn zip_map(
    out: &mut Emitter,
    node: &pb::NodeProto,
    outputs: &mut [pb::ValueInfoProto],
) -> Result<()> {
    let (x, names) = io(node, 1)?;
    for v in outputs.iter_mut().filter(|v| v.name == names[0]) {
        v.r#type = None;
    }
    out.node_to(&node.name, "Identity", &[x], vec![], names[0]);
    Ok(())
}

/// `Scaler`: `(x - offset) * scale`, each of length 1 or the feature count.
fn scaler(out: &mut Emitter, node: &pb::NodeProto) -> Result<()> {
    let (x, outputs) = io(node, 1)?;
    let (offset, scale) = (floats_of(node, "offset"), floats_of(node, "scale"));
    let off = out.floats(
        &node.name,
        &[offset.len().max(1)],
        if offset.is_empty() { vec![0.0] } else { offset },
    );
    let sc = out.floats(
        &node.name,
        &[scale.len().max(1)],
        if scale.is_empty() { vec![1.0] } else { scale },
    );
    let centered = out.node(&node.name, "Sub", &[x, &off], vec![]);
    out.node_to(&node.name, "Mul", &[&centered, &sc], vec![], outputs[0]);
    Ok(())
}

/// `LinearClassifier` with one row of coefficients per class (what skl2onnx writes, binary
/// included): scores, post-transform, `labels[argmax]`.
fn linear_classifier(out: &mut Emitter, node: &pb::NodeProto) -> Result<()> {
    let (x, outputs) = io(node, 2)?;
    let base = &node.name;
    let labels = ints_of(node, "classlabels_ints");
    let coefficients = floats_of(node, "coefficients");
    let intercepts = floats_of(node, "intercepts");
    let classes = labels.len();
    if classes < 2 || !coefficients.len().is_multiple_of(classes) {
        return Err(unsupported(
            node,
            "one row of coefficients per integer class label is supported",
        ));
    }
    let features = coefficients.len() / classes;
    let mut wt = vec![0f32; coefficients.len()];
    for c in 0..classes {
        for f in 0..features {
            wt[f * classes + c] = coefficients[c * features + f];
        }
    }
    let wt = out.floats(base, &[features, classes], wt);
    let b = if intercepts.is_empty() { vec![0.0; classes] } else { intercepts };
    if b.len() != classes {
        return Err(unsupported(node, "intercepts do not match the classes"));
    }
    let b = out.floats(base, &[classes], b);
    let product = out.node(base, "MatMul", &[x, &wt], vec![]);
    let scores = out.node(base, "Add", &[&product, &b], vec![]);
    label_and_probabilities(out, node, &scores, labels, &outputs)
}

/// A classifier's outputs from its scores: `labels[argmax]`, and the post-transform
/// (`NONE`, `LOGISTIC` elementwise, `SOFTMAX`) as the probabilities.
fn label_and_probabilities(
    out: &mut Emitter,
    node: &pb::NodeProto,
    scores: &str,
    labels: Vec<i64>,
    outputs: &[&str],
) -> Result<()> {
    let base = &node.name;
    let label_const = out.ints(base, &[labels.len()], labels);
    let index =
        out.node(base, "ArgMax", &[scores], vec![attr_int("axis", 1), attr_int("keepdims", 0)]);
    out.node_to(base, "Gather", &[&label_const, &index], vec![attr_int("axis", 0)], outputs[0]);
    match string_of(node, "post_transform").as_deref().unwrap_or("NONE") {
        "NONE" => out.node_to(base, "Identity", &[scores], vec![], outputs[1]),
        "LOGISTIC" => out.node_to(base, "Sigmoid", &[scores], vec![], outputs[1]),
        "SOFTMAX" => out.node_to(base, "Softmax", &[scores], vec![attr_int("axis", 1)], outputs[1]),
        other => return Err(unsupported(node, format!("post_transform {other}"))),
    }
    Ok(())
}

/// The reached leaves' weights summed per column (class or target), each scaled, plus the
/// base values: `reached · W + base`, written to `to` when given.
fn leaf_scores(
    out: &mut Emitter,
    node: &pb::NodeProto,
    e: &Ensemble,
    reached: &str,
    (columns, scale): (usize, f32),
    base_values: &[f32],
    to: Option<&str>,
) -> Result<String> {
    let base = &node.name;
    let mut w = vec![0f32; e.leaves.len() * columns];
    for (l, (_, entries)) in e.leaves.iter().enumerate() {
        for &(c, weight) in entries {
            let c = usize::try_from(c)
                .ok()
                .filter(|&c| c < columns)
                .ok_or_else(|| unsupported(node, format!("class or target id {c}")))?;
            w[l * columns + c] += weight * scale;
        }
    }
    let w = out.floats(base, &[e.leaves.len(), columns], w);
    let scores = out.node(base, "MatMul", &[reached, &w], vec![]);
    let b = if base_values.is_empty() { vec![0.0; columns] } else { base_values.to_vec() };
    if b.len() != columns {
        return Err(unsupported(node, "base_values do not match the classes or targets"));
    }
    let b = out.floats(base, &[columns], b);
    Ok(match to {
        Some(y) => {
            out.node_to(base, "Add", &[&scores, &b], vec![], y);
            y.to_string()
        }
        None => out.node(base, "Add", &[&scores, &b], vec![]),
    })
}

/// A tree node: `(tree id, node id)`.
type Key = (i64, i64);

/// A leaf and its `(class or target, weight)` entries.
type Leaf = (Key, Vec<(i64, f32)>);

/// The splits on a leaf's path, each with the side taken.
type Path = Vec<(Key, bool)>;

/// One tree node as the attributes list it.
struct Split {
    feature: i64,
    threshold: f32,
    mode: String,
    on_true: i64,
    on_false: i64,
}

/// A tree ensemble's structure: per tree, its splits and leaves by node id.
struct Ensemble {
    /// `(tree, node) -> split`.
    splits: HashMap<Key, Split>,
    /// Leaves in a fixed order, with their `(class or target, weight)` entries.
    leaves: Vec<Leaf>,
    /// Roots: the node of each tree that no split points to.
    roots: Vec<Key>,
}

fn ensemble(node: &pb::NodeProto, classifier: bool) -> Result<Ensemble> {
    let tree_ids = ints_of(node, "nodes_treeids");
    let node_ids = ints_of(node, "nodes_nodeids");
    let features = ints_of(node, "nodes_featureids");
    let values = floats_of(node, "nodes_values");
    let modes = strings_of(node, "nodes_modes");
    let trues = ints_of(node, "nodes_truenodeids");
    let falses = ints_of(node, "nodes_falsenodeids");
    let n = node_ids.len();
    if n == 0
        || [tree_ids.len(), features.len(), values.len(), modes.len(), trues.len(), falses.len()]
            .iter()
            .any(|&l| l != n)
    {
        return Err(unsupported(
            node,
            "inconsistent node attributes (nodes_values_as_tensor is not supported)",
        ));
    }
    let prefix = if classifier { "class" } else { "target" };
    let leaf_trees = ints_of(node, &format!("{prefix}_treeids"));
    let leaf_nodes = ints_of(node, &format!("{prefix}_nodeids"));
    let leaf_ids = ints_of(node, &format!("{prefix}_ids"));
    let leaf_weights = floats_of(node, &format!("{prefix}_weights"));
    let m = leaf_trees.len();
    if m == 0 || [leaf_nodes.len(), leaf_ids.len(), leaf_weights.len()].iter().any(|&l| l != m) {
        return Err(unsupported(node, format!("inconsistent {prefix}_* attributes")));
    }
    let mut splits = HashMap::new();
    let mut leaves: Vec<Leaf> = Vec::new();
    let mut leaf_index: HashMap<Key, usize> = HashMap::new();
    let mut pointed = std::collections::HashSet::new();
    for i in 0..n {
        let key = (tree_ids[i], node_ids[i]);
        if modes[i] == "LEAF" {
            leaf_index.insert(key, leaves.len());
            leaves.push((key, Vec::new()));
            continue;
        }
        if !matches!(modes[i].as_str(), "BRANCH_LEQ" | "BRANCH_LT" | "BRANCH_GTE" | "BRANCH_GT") {
            return Err(unsupported(node, format!("split mode {}", modes[i])));
        }
        pointed.insert((tree_ids[i], trues[i]));
        pointed.insert((tree_ids[i], falses[i]));
        splits.insert(
            key,
            Split {
                feature: features[i],
                threshold: values[i],
                mode: modes[i].clone(),
                on_true: trues[i],
                on_false: falses[i],
            },
        );
    }
    for j in 0..m {
        let key = (leaf_trees[j], leaf_nodes[j]);
        let k = *leaf_index
            .get(&key)
            .ok_or_else(|| unsupported(node, format!("weight for {key:?}, not a leaf")))?;
        leaves[k].1.push((leaf_ids[j], leaf_weights[j]));
    }
    let mut roots: Vec<Key> =
        (0..n).map(|i| (tree_ids[i], node_ids[i])).filter(|k| !pointed.contains(k)).collect();
    roots.sort_unstable();
    roots.dedup();
    Ok(Ensemble { splits, leaves, roots })
}

/// The paths of every leaf: the splits on it and the side taken at each.
fn paths(node: &pb::NodeProto, e: &Ensemble) -> Result<HashMap<Key, Path>> {
    let mut paths = HashMap::new();
    let mut stack: Vec<(Key, Path)> = e.roots.iter().map(|&r| (r, Vec::new())).collect();
    let limit = e.splits.len() + e.leaves.len();
    while let Some((key, path)) = stack.pop() {
        if path.len() > limit {
            return Err(unsupported(node, "the trees have a cycle"));
        }
        match e.splits.get(&key) {
            Some(s) => {
                let mut t = path.clone();
                t.push((key, true));
                stack.push(((key.0, s.on_true), t));
                let mut f = path;
                f.push((key, false));
                stack.push(((key.0, s.on_false), f));
            }
            None => {
                paths.insert(key, path);
            }
        }
    }
    Ok(paths)
}

/// Both tree ensembles: outputs `(label, probabilities)` for the classifier, `(Y)` for the
/// regressor.
fn trees(out: &mut Emitter, node: &pb::NodeProto, classifier: bool) -> Result<()> {
    let (x, outputs) = io(node, if classifier { 2 } else { 1 })?;
    let base = &node.name;
    let e = ensemble(node, classifier)?;
    let paths = paths(node, &e)?;
    // Splits in a fixed order, grouped by comparison.
    let mut order: Vec<&Key> = e.splits.keys().collect();
    order.sort_unstable_by_key(|k| (e.splits[k].mode.clone(), **k));
    let column: HashMap<Key, usize> = order.iter().enumerate().map(|(i, k)| (**k, i)).collect();
    let mut groups: Vec<String> = Vec::new();
    for mode in ["BRANCH_GT", "BRANCH_GTE", "BRANCH_LEQ", "BRANCH_LT"] {
        let keys: Vec<&Key> = order.iter().copied().filter(|k| e.splits[k].mode == mode).collect();
        if keys.is_empty() {
            continue;
        }
        let feats =
            out.ints(base, &[keys.len()], keys.iter().map(|k| e.splits[k].feature).collect());
        let thr =
            out.floats(base, &[keys.len()], keys.iter().map(|k| e.splits[k].threshold).collect());
        let gathered = out.node(base, "Gather", &[x, &feats], vec![attr_int("axis", 1)]);
        let op = match mode {
            "BRANCH_GT" => "Greater",
            "BRANCH_GTE" => "GreaterOrEqual",
            "BRANCH_LEQ" => "LessOrEqual",
            _ => "Less",
        };
        let test = out.node(base, op, &[&gathered, &thr], vec![]);
        groups.push(out.node(base, "Cast", &[&test], vec![attr_int("to", FLOAT as i64)]));
    }
    let leaves = e.leaves.len();
    let reached = if order.is_empty() {
        // Every tree is a single leaf: all reached, whatever the input.
        return Err(unsupported(node, "an ensemble without splits has constant outputs"));
    } else {
        let outcomes = if groups.len() == 1 {
            groups.remove(0)
        } else {
            let refs: Vec<&str> = groups.iter().map(String::as_str).collect();
            out.node(base, "Concat", &refs, vec![attr_int("axis", 1)])
        };
        let mut a = vec![0f32; order.len() * leaves];
        let mut offset = vec![0f32; leaves];
        for (l, (key, _)) in e.leaves.iter().enumerate() {
            let path = paths
                .get(key)
                .ok_or_else(|| unsupported(node, format!("leaf {key:?} is unreachable")))?;
            for (split, side) in path {
                let j = column[split];
                if *side {
                    a[j * leaves + l] += 1.0;
                } else {
                    a[j * leaves + l] -= 1.0;
                    offset[l] += 1.0;
                }
            }
            offset[l] -= path.len() as f32;
        }
        let a = out.floats(base, &[order.len(), leaves], a);
        let offset = out.floats(base, &[leaves], offset);
        let zero = out.floats(base, &[1], vec![0.0]);
        let sums = out.node(base, "MatMul", &[&outcomes, &a], vec![]);
        let gaps = out.node(base, "Add", &[&sums, &offset], vec![]);
        let hit = out.node(base, "GreaterOrEqual", &[&gaps, &zero], vec![]);
        out.node(base, "Cast", &[&hit], vec![attr_int("to", FLOAT as i64)])
    };
    let post = string_of(node, "post_transform").unwrap_or_else(|| "NONE".into());
    let base_values = floats_of(node, "base_values");
    if classifier {
        classify(out, node, &e, &reached, &post, &base_values, &outputs)
    } else {
        regress(out, node, &e, &reached, &post, &base_values, outputs[0])
    }
}

fn regress(
    out: &mut Emitter,
    node: &pb::NodeProto,
    e: &Ensemble,
    reached: &str,
    post: &str,
    base_values: &[f32],
    y: &str,
) -> Result<()> {
    if post != "NONE" {
        return Err(unsupported(node, format!("regressor post_transform {post}")));
    }
    let targets = attr(node, "n_targets").map(|a| a.i).unwrap_or(1).max(1) as usize;
    let trees = e.roots.len().max(1) as f32;
    let scale = match string_of(node, "aggregate_function").as_deref().unwrap_or("SUM") {
        "SUM" => 1.0,
        "AVERAGE" => 1.0 / trees,
        other => return Err(unsupported(node, format!("aggregate_function {other}"))),
    };
    leaf_scores(out, node, e, reached, (targets, scale), base_values, Some(y))?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn classify(
    out: &mut Emitter,
    node: &pb::NodeProto,
    e: &Ensemble,
    reached: &str,
    post: &str,
    base_values: &[f32],
    outputs: &[&str],
) -> Result<()> {
    let base = &node.name;
    let labels = ints_of(node, "classlabels_int64s");
    if labels.is_empty() {
        return Err(unsupported(node, "a classifier without class labels"));
    }
    let classes = labels.len();
    let mut ids: Vec<i64> = e.leaves.iter().flat_map(|(_, w)| w.iter().map(|(c, _)| *c)).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.iter().any(|&c| c < 0 || c as usize >= classes) {
        return Err(unsupported(node, "a class id outside the labels"));
    }
    if classes == 2 && ids.len() == 1 {
        // onnxruntime's binary case: one score s for the single class id present.
        // onnxruntime adds a single base value to class 0's slot only.
        if base_values.len() > 1 || (ids[0] != 0 && !base_values.is_empty()) {
            return Err(unsupported(node, "a binary ensemble with these base values"));
        }
        let mut w = vec![0f32; e.leaves.len()];
        for (l, (_, entries)) in e.leaves.iter().enumerate() {
            w[l] = entries.iter().map(|(_, v)| v).sum();
        }
        let positive = w.iter().all(|&v| v >= 0.0);
        let w = out.floats(base, &[e.leaves.len(), 1], w);
        let s = out.node(base, "MatMul", &[reached, &w], vec![]);
        let b = out.floats(base, &[1], vec![base_values.first().copied().unwrap_or(0.0)]);
        let s = out.node(base, "Add", &[&s, &b], vec![]);
        let (threshold, pair) = match (positive, post) {
            (true, "NONE" | "LOGISTIC" | "SOFTMAX") => {
                // All weights positive: [1 - s, s], the post-transform left out (as onnxruntime).
                let one = out.floats(base, &[1], vec![1.0]);
                (0.5, (out.node(base, "Sub", &[&one, &s], vec![]), s.clone()))
            }
            (false, "NONE") => (0.0, (out.node(base, "Neg", &[&s], vec![]), s.clone())),
            (false, "LOGISTIC") => {
                let neg = out.node(base, "Neg", &[&s], vec![]);
                let p0 = out.node(base, "Sigmoid", &[&neg], vec![]);
                (0.0, (p0, out.node(base, "Sigmoid", &[&s], vec![])))
            }
            _ => return Err(unsupported(node, format!("binary post_transform {post}"))),
        };
        let t = out.floats(base, &[1], vec![threshold]);
        let wins = out.node(base, "Greater", &[&s, &t], vec![]);
        let l1 = out.ints(base, &[1], vec![labels[1]]);
        let l0 = out.ints(base, &[1], vec![labels[0]]);
        let label = out.node(base, "Where", &[&wins, &l1, &l0], vec![]);
        let flat = out.ints(base, &[1], vec![-1]);
        out.node_to(base, "Reshape", &[&label, &flat], vec![], outputs[0]);
        out.node_to(base, "Concat", &[&pair.0, &pair.1], vec![attr_int("axis", 1)], outputs[1]);
        return Ok(());
    }
    if classes == 2 {
        return Err(unsupported(node, "a binary ensemble scoring both classes"));
    }
    let scores = leaf_scores(out, node, e, reached, (classes, 1.0), base_values, None)?;
    label_and_probabilities(out, node, &scores, labels, outputs)
}
