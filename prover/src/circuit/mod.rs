//! The halo2 shard circuit: one configuration shape for all shards.

pub mod config;
pub mod instance;
pub mod layout;
pub mod poseidon;
pub mod table;

use std::sync::Arc;

use halo2_base::halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::halo2curves::ff::Field;
use halo2_base::halo2_proofs::plonk::{Any, Circuit, Column, ConstraintSystem, Error};
use snark_verifier_sdk::CircuitExt;

use config::ShardConfig;
use layout::Layout;

/// Field element of a signed integer.
pub fn fe(v: i64) -> Fr {
    let m = Fr::from(v.unsigned_abs());
    if v < 0 {
        -m
    } else {
        m
    }
}

/// `2^e` in the field.
pub fn pow2(e: u32) -> Fr {
    Fr::from(2u64).pow_vartime([e as u64])
}

/// A shard circuit: a layout, with or without its witness.
#[derive(Clone, Debug)]
pub struct ShardCircuit {
    /// Fixed values, copies and (when proving) the witness.
    pub layout: Arc<Layout>,
    /// False for keygen: advice values are then unknown.
    pub with_witness: bool,
}

/// Rows usable by gates and tables at `k`: halo2 reserves the last rows for blinding.
pub fn usable_rows(k: u32) -> usize {
    let mut cs = ConstraintSystem::<Fr>::default();
    ShardCircuit::configure(&mut cs);
    (1usize << k) - cs.blinding_factors() - 1
}

impl Circuit<Fr> for ShardCircuit {
    type Config = ShardConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        Self { layout: self.layout.clone(), with_witness: false }
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> ShardConfig {
        ShardConfig::configure(meta)
    }

    fn synthesize(
        &self,
        config: ShardConfig,
        mut layouter: impl Layouter<Fr>,
    ) -> Result<(), Error> {
        let l = &self.layout;
        layouter.assign_region(
            || "shard",
            |mut region| {
                for (col, values) in config.fixed.iter().zip(&l.fixed) {
                    for (row, v) in values.iter().enumerate() {
                        if !bool::from(v.is_zero()) {
                            region.assign_fixed(*col, row, *v);
                        }
                    }
                }
                for (col, values) in config.advice.iter().zip(&l.advice) {
                    for (row, v) in values.iter().enumerate() {
                        let value =
                            if self.with_witness { Value::known(*v) } else { Value::unknown() };
                        region.assign_advice(*col, row, value);
                    }
                }
                for (a, b) in &l.copies {
                    region.constrain_equal(cell(&config, *a), cell(&config, *b));
                }
                Ok(())
            },
        )?;
        for (c, row) in &l.instance_cells {
            layouter.constrain_instance(cell(&config, *c), config.instance, *row);
        }
        Ok(())
    }
}

/// The halo2 cell of a layout cell (the shard is one region starting at row 0).
fn cell(config: &ShardConfig, c: layout::Cell) -> halo2_base::halo2_proofs::circuit::Cell {
    halo2_base::halo2_proofs::circuit::Cell {
        row_offset: c.row as usize,
        column: Column::<Any>::from(config.advice[c.col as usize]),
    }
}

impl CircuitExt<Fr> for ShardCircuit {
    fn num_instance(&self) -> Vec<usize> {
        vec![instance::count()]
    }

    fn instances(&self) -> Vec<Vec<Fr>> {
        vec![self.layout.instances.clone()]
    }
}

#[cfg(test)]
pub(crate) mod tests;
