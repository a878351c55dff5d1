//! scratch
#[cfg(test)]
mod tests {
    use tract_onnx::prelude::*;
    use tract_onnx::tract_hir::infer::Factoid;
    use tract_onnx::tract_hir::internal::DimLike;
    #[test]
    fn dump() {
        let mut paths: Vec<_> = std::fs::read_dir("/work/shared/models").unwrap().chain(std::fs::read_dir("/work/main/models").unwrap()).map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
        paths.sort();
        for p in paths {
            let m = tract_onnx::onnx().model_for_path(p.join("network.onnx")).unwrap();
            println!("=== {:?} inputs {:?}", p, m.input_outlets().unwrap().iter().map(|o| m.outlet_fact(*o).unwrap().clone()).collect::<Vec<_>>());
            let mut m = m;
            let n = m.input_outlets().unwrap().len();
            for i in 0..n {
                let f = m.input_fact(i).unwrap().clone();
                let shape: Vec<usize> = f.shape.dims().map(|d| d.concretize().and_then(|d| d.to_usize().ok()).unwrap_or(1)).collect();
                m.set_input_fact(i, f32::fact(shape).into()).unwrap();
            }
            let t = m.into_typed().unwrap().into_decluttered().unwrap();
            for id in t.eval_order().unwrap() {
                let n = &t.nodes[id];
                println!("  #{} {:?} {} inputs={:?} -> {:?} | {:?}", id, n.name, n.op.name(), n.inputs, n.outputs.iter().map(|o| format!("{:?}", o.fact)).collect::<Vec<_>>(), n.op);
            }
        }
    }
}
