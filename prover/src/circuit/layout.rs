//! Lays a shard out as rows: fixed values, advice witness, copy and instance constraints.
//!
//! The builder is also the shard's witness generator: it computes every cell from the
//! shard's input values with the functions of [`crate::quant::semantics`], the same ones
//! the reference evaluator uses. Control flow depends on the model only, never on values,
//! so keygen (with any input) and proving (with the real one) produce identical fixed
//! columns and copy constraints.

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::halo2curves::ff::{Field, PrimeField};

use super::config::{fixed as f, NUM_ADVICE, WIDTH, Z};
use super::instance::{self, MAX_OUTPUTS};
use super::poseidon::{self, is_full_round, ROUNDS};
use super::table::{Tables, IDENTITY_TAG, RANGE_TAG};
use super::{fe, pow2};
use crate::error::{ProverError, Result};
use crate::model::graph::{Activation, Src, ValueId};
use crate::quant::semantics::{
    divide, interpolate, max_step, relu_by_sign, requant, split, Division, Interp, Reject, Requant,
    Split,
};
use crate::quant::{QKind, QModel, QNode, QuantSettings};
use crate::shard::boundary::Salts;
use crate::shard::plan::ShardSpec;

/// Advice columns of the rescale row holding remainder limbs, lowest first (`x0` holds the
/// rescaled value and `x3` the activation output).
pub const REMAINDER_COLUMNS: [usize; 3] = [1, 2, 4];

/// Domain of the commitment to the model input (salted).
pub const DOMAIN_INPUT: u8 = 1;
/// Domain of the commitment to the model's outputs (unsalted).
pub const DOMAIN_BOUNDARY: u8 = 2;
/// Domain of commitments to values passed between shards (salted per link).
pub const DOMAIN_LINK: u8 = 3;

/// A cell: advice column index (`0..NUM_ADVICE`) and row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cell {
    /// Row.
    pub row: u32,
    /// Advice column.
    pub col: u8,
}

/// Everything the circuit needs for keygen and proving.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Rows used by gates (tables may use more fixed rows).
    pub rows: usize,
    /// Fixed columns, column-major, `rows.max(table rows)` long.
    pub fixed: Vec<Vec<Fr>>,
    /// Advice witness, column-major.
    pub advice: Vec<Vec<Fr>>,
    /// Copy constraints between advice cells.
    pub copies: Vec<(Cell, Cell)>,
    /// Advice cells bound to instance rows.
    pub instance_cells: Vec<(Cell, usize)>,
    /// The instance values this witness produces.
    pub instances: Vec<Fr>,
}

/// Rows a shard needs, computed without building it (for planning).
pub mod cost {
    use super::*;

    /// Values of `value_bits` bits packed into one field element.
    pub fn per_element(value_bits: u32) -> usize {
        (252 / value_bits) as usize
    }

    /// Rows to pack and hash `n` values (plus `extra` message elements such as a salt).
    pub fn commit(n: usize, extra: usize, value_bits: u32) -> usize {
        let p = per_element(value_bits);
        let elems = n.div_ceil(p);
        let pack_rows: usize = (0..elems).map(|e| (n - e * p).min(p).div_ceil(WIDTH).max(1)).sum();
        let msg = (elems + extra).max(1);
        pack_rows + msg.div_ceil(2) * (ROUNDS + 1) + 1
    }

    /// Rows to receive `n` boundary values: range checks (two a row, or one split a row
    /// when wide) plus the commitment.
    pub fn receive(n: usize, extra: usize, st: &QuantSettings) -> usize {
        let checks = if st.wide { n } else { n.div_ceil(2) };
        checks + commit(n, extra, st.value_bits())
    }

    /// Rows after a rescale row that produce `act` of a wide value: its split, and the
    /// product by its sign for a ReLU; an interpolation's four (see `Builder::interpolated`).
    pub fn wide_act(act: Activation, st: &QuantSettings) -> usize {
        if st.wide_act(act) {
            1 + usize::from(act == Activation::Relu)
        } else if st.interpolates(act) {
            INTERPOLATION
        } else {
            0
        }
    }

    /// Rows of one interpolated activation.
    pub const INTERPOLATION: usize = 5;

    /// Limbs of a rescale remainder in `[0, 2^shift)`: `scale_bits` bits each (the range
    /// table's width), the top one `shift - scale_bits * (limbs - 1)` bits. None for shift 0.
    pub fn remainder_limbs(shift: u32, scale_bits: u32) -> usize {
        shift.div_ceil(scale_bits) as usize
    }

    /// `r` as `limbs` limbs of `scale_bits` bits, lowest first; the top one unmasked, so a
    /// remainder past its range shows in it (and fails its check).
    pub fn split_remainder(r: i64, limbs: usize, scale_bits: u32) -> Vec<i64> {
        let s = scale_bits as usize;
        (0..limbs)
            .map(|i| if i + 1 < limbs { (r >> (s * i)) & ((1 << s) - 1) } else { r >> (s * i) })
            .collect()
    }

    /// Range checks of a remainder beyond the first limb's (checked in the rescale row):
    /// one per further limb, and one of the top limb shifted up when it is narrower than
    /// the table, so the remainder is exactly `[0, 2^shift)`.
    pub fn remainder_checks(shift: u32, scale_bits: u32) -> usize {
        let limbs = remainder_limbs(shift, scale_bits);
        if limbs == 0 {
            return 0;
        }
        let top = shift - scale_bits * (limbs as u32 - 1);
        limbs - 1 + usize::from(top < scale_bits)
    }

    /// Rows of a rescale by `2^shift`: the rescale row and two further checks a row.
    pub fn rescale(shift: u32, scale_bits: u32) -> usize {
        1 + remainder_checks(shift, scale_bits).div_ceil(2)
    }

    /// Rows output `j` of a node takes.
    pub fn item(kind: &QKind, j: usize, st: &QuantSettings) -> usize {
        let s = st.scale_bits;
        match kind {
            QKind::Linear { rows, shift, act, .. } => {
                let nnz = (rows.offsets[j + 1] - rows.offsets[j]) as usize;
                nnz.div_ceil(WIDTH).max(1) + rescale(*shift, s) + wide_act(*act, st)
            }
            QKind::Mul { shift, act, .. } => 1 + rescale(*shift, s) + wide_act(*act, st),
            QKind::Dot { terms, shift, act, .. } => {
                *terms as usize + rescale(*shift, s) + wide_act(*act, st)
            }
            QKind::Act { act, .. } if st.wide_act(*act) || st.interpolates(*act) => {
                wide_act(*act, st)
            }
            QKind::Act { .. } => 1,
            // A wide step: the difference, its split, the update by its sign.
            QKind::Max { windows } if st.wide => 3 * (windows[j].len() - 1),
            QKind::Max { windows } => 2 * (windows[j].len() - 1),
            QKind::Div { .. } => 2,
        }
    }

    /// Fixed rows every shard has (zero and output-count constants).
    pub const OVERHEAD: usize = 2;
}

struct Builder<'a> {
    model: &'a QModel,
    tables: Tables,
    fixed: Vec<Vec<Fr>>,
    advice: Vec<Vec<Fr>>,
    copies: Vec<(Cell, Cell)>,
    instance_cells: Vec<(Cell, usize)>,
    /// Home cell and value of each model value present in this shard.
    home: Vec<Option<(Cell, i64)>>,
    zero: Cell,
    /// Out-of-range values are errors; keygen (any witness will do) clamps them instead.
    strict: bool,
    /// Tests: rewrites each rescale's result and remainder limbs before they are laid out,
    /// everything after computed from the forged values (a dishonest witness generator).
    #[cfg(test)]
    forge: Option<Forge>,
    /// Tests: rewrites each split of a wide value before it is laid out.
    #[cfg(test)]
    forge_split: Option<SplitForge>,
    /// Tests: rewrites each interpolation before it is laid out.
    #[cfg(test)]
    forge_interp: Option<InterpForge>,
}

/// A rewrite of a rescale's `(y, r, out)` and remainder limbs (tests).
#[cfg(test)]
pub type Forge = fn(&mut Requant, u32, Activation, &mut Vec<i64>);

/// A rewrite of a wide value's split `(h, lo, sign)` (tests).
#[cfg(test)]
pub type SplitForge = fn(&mut Split);

/// A rewrite of an interpolation `(h, lo, f0, f1, r, out)` of a function (tests).
#[cfg(test)]
pub type InterpForge = fn(&mut Interp, Activation);

impl<'a> Builder<'a> {
    fn row(&mut self) -> u32 {
        for c in self.fixed.iter_mut() {
            c.push(Fr::ZERO);
        }
        for c in self.advice.iter_mut() {
            c.push(Fr::ZERO);
        }
        (self.advice[0].len() - 1) as u32
    }

    fn fix(&mut self, row: u32, col: usize, v: Fr) {
        self.fixed[col][row as usize] = v;
    }

    fn adv(&mut self, row: u32, col: usize, v: Fr) -> Cell {
        self.advice[col][row as usize] = v;
        Cell { row, col: col as u8 }
    }

    fn lookup(&self, s: Src) -> Result<(Cell, i64)> {
        match s {
            Src::Zero => Ok((self.zero, 0)),
            Src::Value(v) => self.home[v as usize].ok_or_else(|| {
                ProverError::Planning(format!("value {v} is used by a shard that does not hold it"))
            }),
        }
    }

    /// Puts a copy of `s` into a cell and returns its value.
    fn place(&mut self, row: u32, col: usize, s: Src) -> Result<i64> {
        let (home, v) = self.lookup(s)?;
        let cell = self.adv(row, col, fe(v));
        self.copies.push((home, cell));
        Ok(v)
    }

    fn set_home(&mut self, id: ValueId, cell: Cell, v: i64) {
        self.home[id as usize] = Some((cell, v));
    }

    /// A cell constrained to a constant by the linear gate.
    fn constant(&mut self, v: i64) -> Cell {
        let r = self.row();
        self.fix(r, f::Q_LIN, Fr::ONE);
        self.fix(r, f::C0, Fr::ONE);
        self.fix(r, f::K, -fe(v));
        self.adv(r, 0, fe(v))
    }

    /// Range-checks fresh boundary values, two a row (one split a row when wide), and makes
    /// them their own homes.
    fn receive(&mut self, ids: &[ValueId], values: &[i64]) -> Result<Vec<(Cell, i64)>> {
        let mut cells = Vec::with_capacity(ids.len());
        if self.model.settings.wide {
            for (id, v) in ids.iter().zip(values) {
                let (cell, _) = self.split_row(None, *v, *id)?;
                self.set_home(*id, cell, *v);
                cells.push((cell, *v));
            }
            return Ok(cells);
        }
        for (pair_ids, pair_vals) in ids.chunks(2).zip(values.chunks(2)) {
            let r = self.row();
            self.fix(r, f::TAG_B, Fr::from(IDENTITY_TAG));
            let c0 = self.adv(r, 0, fe(pair_vals[0]));
            self.adv(r, 3, fe(pair_vals[0]));
            self.set_home(pair_ids[0], c0, pair_vals[0]);
            cells.push((c0, pair_vals[0]));
            if pair_ids.len() == 2 {
                self.fix(r, f::TAG_A, Fr::from(IDENTITY_TAG));
                let c1 = self.adv(r, 1, fe(pair_vals[1]));
                self.set_home(pair_ids[1], c1, pair_vals[1]);
                cells.push((c1, pair_vals[1]));
            }
        }
        Ok(cells)
    }

    /// `v = 2^s h + lo` with `lo` in the range table and `h` looked up in the non-negative
    /// table, which gives `sign = 2^s [v >= 0]`: `x0 = h, x1 = lo, x2 = v, x3 = sign`. `v` is
    /// a copy of `from`, or a fresh cell. Returns the cells of `v` and `sign`.
    fn split_row(
        &mut self,
        from: Option<Cell>,
        v: i64,
        id: ValueId,
    ) -> Result<(Cell, (Cell, i64))> {
        let st = self.model.settings;
        #[allow(unused_mut)]
        let mut sp = match split(v as i128, &st) {
            Ok(sp) => sp,
            Err(v) if self.strict => return Err(self.range_error(id, v)),
            Err(_) => Split { h: 0, lo: 0, sign: 0 },
        };
        #[cfg(test)]
        if let Some(forge) = self.forge_split {
            forge(&mut sp);
        }
        let r = self.row();
        self.fix(r, f::Q_LIN, Fr::ONE);
        self.fix(r, f::C0, pow2(st.scale_bits));
        self.fix(r, f::C0 + 1, Fr::ONE);
        self.fix(r, f::C0 + 2, -Fr::ONE);
        self.fix(r, f::TAG_A, Fr::from(RANGE_TAG));
        self.fix(r, f::TAG_B, Fr::from(self.tables.tag(Activation::NonNegative)));
        self.adv(r, 0, fe(sp.h));
        self.adv(r, 1, fe(sp.lo));
        let cell = self.adv(r, 2, fe(v));
        if let Some(from) = from {
            self.copies.push((from, cell));
        }
        let sign = self.adv(r, 3, fe(sp.sign));
        Ok((cell, (sign, sp.sign)))
    }

    /// `v * sign / 2^s` (ReLU of `v` by its sign, or a running maximum's update plus `m`):
    /// `x0 = v, x1 = sign, x2 = m, z = m + v sign / 2^s`.
    fn by_sign(
        &mut self,
        v: (Cell, i64),
        sign: (Cell, i64),
        m: Option<(Cell, i64)>,
    ) -> (Cell, i64) {
        let st = self.model.settings;
        let r = self.row();
        self.fix(r, f::Q_LIN, Fr::ONE);
        self.fix(r, f::Q_Z, -pow2(st.scale_bits));
        self.fix(r, f::M, Fr::ONE);
        for (col, (home, value)) in [(0usize, v), (1, sign)] {
            let cell = self.adv(r, col, fe(value));
            self.copies.push((home, cell));
        }
        let mut out = relu_by_sign(v.1, sign.1, &st);
        if let Some((home, value)) = m {
            self.fix(r, f::C0 + 2, pow2(st.scale_bits));
            let cell = self.adv(r, 2, fe(value));
            self.copies.push((home, cell));
            out += value;
        }
        (self.adv(r, Z, fe(out)), out)
    }

    /// `act` of the wide value `v` (identity or ReLU): split, then the product by its sign.
    fn wide_output(&mut self, id: ValueId, v: (Cell, i64), act: Activation) -> Result<()> {
        let (cell, sign) = self.split_row(Some(v.0), v.1, id)?;
        let home = match act {
            Activation::Relu => self.by_sign((cell, v.1), sign, None),
            _ => (cell, v.1),
        };
        self.set_home(id, home.0, home.1);
        Ok(())
    }

    /// Packs range-checked values into field elements, `per_element` values each, as
    /// `sum 2^(L*i) * (v_i + 2^(L-1))` (injective because every limb is in `[0, 2^L)`; `L`
    /// is the value width, every value proven in it).
    fn pack(&mut self, cells: &[(Cell, i64)]) -> Vec<(Cell, Fr)> {
        let l = self.model.settings.value_bits();
        let half = self.model.settings.value_bound();
        let p = cost::per_element(l);
        let mut out = Vec::new();
        for chunk in cells.chunks(p) {
            let offset = (0..chunk.len()).fold(Fr::ZERO, |a, i| a + pow2(l * i as u32) * fe(half));
            let mut acc = offset;
            let mut last = None;
            for (ri, group) in chunk.chunks(WIDTH).enumerate() {
                let r = self.row();
                self.fix(r, f::Q_LIN, Fr::ONE);
                self.fix(r, f::Q_Z, -Fr::ONE);
                if ri == 0 {
                    self.fix(r, f::K, offset);
                } else {
                    self.fix(r, f::CHAIN, Fr::ONE);
                }
                for (t, (home, v)) in group.iter().enumerate() {
                    let w = pow2(l * (ri * WIDTH + t) as u32);
                    self.fix(r, f::C0 + t, w);
                    let cell = self.adv(r, t, fe(*v));
                    self.copies.push((*home, cell));
                    acc += w * fe(*v);
                }
                last = Some(self.adv(r, Z, acc));
            }
            if let Some(cell) = last {
                out.push((cell, acc));
            }
        }
        out
    }

    /// Poseidon sponge over `message` (cells copied in, or free witnesses where `None`).
    fn sponge(&mut self, domain: u8, message: &[(Option<Cell>, Fr)]) -> (Cell, Fr) {
        let mut state = poseidon::initial_state(domain, message.len());
        let rc = &poseidon::constants().rc;
        let pairs: Vec<&[(Option<Cell>, Fr)]> = message.chunks(2).collect();
        let mut r = self.row();
        for (i, s) in state.iter().enumerate() {
            self.fix(r, f::C0 + i, *s);
        }
        self.fix(r, f::Q_INIT, Fr::ONE);
        for pair in pairs.iter() {
            // Absorb row: the state, then the two message elements.
            self.fix(r, f::Q_ABSORB, Fr::ONE);
            for (i, s) in state.iter().enumerate() {
                self.adv(r, i, *s);
            }
            for (slot, col) in [(0usize, 3usize), (1, 4)] {
                let (cell, v) = pair.get(slot).copied().unwrap_or((Some(self.zero), Fr::ZERO));
                let placed = self.adv(r, col, v);
                if let Some(src) = cell {
                    self.copies.push((src, placed));
                }
                state[slot + 1] += v;
            }
            for (round, constants) in rc.iter().enumerate().take(ROUNDS) {
                r = self.row();
                let full = is_full_round(round);
                self.fix(r, if full { f::Q_FULL } else { f::Q_PART }, Fr::ONE);
                for (i, (c, s)) in constants.iter().zip(state).enumerate() {
                    self.fix(r, f::C0 + i, *c);
                    self.adv(r, i, s);
                }
                let squares = poseidon::round(&mut state, round);
                for (i, sq) in squares.iter().enumerate().take(if full { 3 } else { 1 }) {
                    self.adv(r, [3, 4, Z][i], *sq);
                }
            }
            r = self.row();
        }
        for (i, s) in state.iter().enumerate() {
            self.adv(r, i, *s);
        }
        (Cell { row: r, col: 1 }, state[1])
    }

    /// Lays out output `j` of a node and records its home.
    fn item(&mut self, node_first: ValueId, kind: &QKind, j: usize) -> Result<()> {
        let st = self.model.settings;
        let id = node_first + j as ValueId;
        match kind {
            QKind::Linear { rows, bias, shift, act } => {
                let terms: Vec<(Src, i64)> = rows.row(j).collect();
                let mut acc = bias[j] as i128;
                let chunks: Vec<&[(Src, i64)]> =
                    if terms.is_empty() { vec![&[][..]] } else { terms.chunks(WIDTH).collect() };
                for (ci, chunk) in chunks.iter().enumerate() {
                    let r = self.row();
                    self.fix(r, f::Q_LIN, Fr::ONE);
                    self.fix(r, f::Q_Z, -Fr::ONE);
                    if ci == 0 {
                        self.fix(r, f::K, fe(bias[j]));
                    } else {
                        self.fix(r, f::CHAIN, Fr::ONE);
                    }
                    for (t, (src, w)) in chunk.iter().enumerate() {
                        self.fix(r, f::C0 + t, fe(*w));
                        let v = self.place(r, t, *src)?;
                        acc += *w as i128 * v as i128;
                    }
                    self.adv(r, Z, fe128(acc));
                }
                self.requant_row(id, acc, *shift, *act)
            }
            QKind::Mul { a, b, shift, act } => {
                let r = self.row();
                self.fix(r, f::Q_LIN, Fr::ONE);
                self.fix(r, f::Q_Z, -Fr::ONE);
                self.fix(r, f::M, Fr::ONE);
                let va = self.place(r, 0, a[j])?;
                let vb = self.place(r, 1, b[j])?;
                let acc = va as i128 * vb as i128;
                self.adv(r, Z, fe128(acc));
                self.requant_row(id, acc, *shift, *act)
            }
            QKind::Dot { a, b, terms, shift, act } => {
                // One product a row, accumulated in `z` through the chain term, then one
                // rescale of the sum.
                // `terms >= 1` (`QModel::check_wellformed`): with none, the rescale would read
                // the previous row's accumulator.
                let n = *terms as usize;
                let mut acc = 0i128;
                for t in j * n..(j + 1) * n {
                    let r = self.row();
                    self.fix(r, f::Q_LIN, Fr::ONE);
                    self.fix(r, f::Q_Z, -Fr::ONE);
                    self.fix(r, f::M, Fr::ONE);
                    if t > j * n {
                        self.fix(r, f::CHAIN, Fr::ONE);
                    }
                    let va = self.place(r, 0, a[t])?;
                    let vb = self.place(r, 1, b[t])?;
                    acc += va as i128 * vb as i128;
                    self.adv(r, Z, fe128(acc));
                }
                self.requant_row(id, acc, *shift, *act)
            }
            QKind::Act { input, act } if st.wide_act(*act) => {
                let v = self.lookup(input[j])?;
                self.wide_output(id, v, *act)
            }
            QKind::Act { input, act } if st.interpolates(*act) => {
                let v = self.lookup(input[j])?;
                self.interpolated(id, v, *act)
            }
            QKind::Act { input, act } => {
                let r = self.row();
                let v = self.place(r, 0, input[j])?;
                let q = self.requant_checked(id, v as i128, 0, *act)?;
                let tag = self.tables.tag(*act);
                self.fix(r, f::TAG_B, Fr::from(tag));
                let out = self.adv(r, 3, fe(q.out));
                self.set_home(id, out, q.out);
                Ok(())
            }
            QKind::Div { a, b, shift, act } => {
                // Row A: 2^(shift+1) a + b - 2 q b - r = 0, q -> act(q) by lookup b, and
                // b in [0, 2^(L-1)) by lookup a on the ReLU table (relu(b) = b).
                let relu = Fr::from(self.tables.tag(Activation::Relu));
                let ra = self.row();
                self.fix(ra, f::Q_LIN, Fr::ONE);
                self.fix(ra, f::M, -Fr::from(2u64));
                self.fix(ra, f::C0 + 1, Fr::ONE);
                self.fix(ra, f::C0 + 2, pow2(shift + 1));
                self.fix(ra, f::C0 + 4, -Fr::ONE);
                self.fix(ra, f::TAG_A, relu);
                self.fix(ra, f::TAG_B, Fr::from(self.tables.tag(*act)));
                let vb = self.place(ra, 1, b[j])?;
                let va = self.place(ra, 2, a[j])?;
                let d = match divide(va, vb, *shift, *act, &st) {
                    Ok(d) => d,
                    Err(e) if self.strict => return Err(self.division_error(id, e, b[j])),
                    Err(_) => Division { q: 0, r: 0, out: 0 },
                };
                self.adv(ra, 0, fe(d.q));
                let r_a = self.adv(ra, 4, fe(d.r));
                let out = self.adv(ra, 3, fe(d.out));
                self.set_home(id, out, d.out);
                // Row B: t = 2b - 1 - r; r and t in [0, 2^(L-1)) by the ReLU table, so
                // 0 <= r < 2b and q is the rounded quotient.
                let rb = self.row();
                self.fix(rb, f::Q_LIN, Fr::ONE);
                self.fix(rb, f::C0, Fr::ONE);
                self.fix(rb, f::C0 + 1, Fr::ONE);
                self.fix(rb, f::C0 + 2, -Fr::from(2u64));
                self.fix(rb, f::K, Fr::ONE);
                self.fix(rb, f::TAG_A, relu);
                self.fix(rb, f::TAG_B, relu);
                let r0 = self.adv(rb, 0, fe(d.r));
                let r3 = self.adv(rb, 3, fe(d.r));
                self.copies.push((r_a, r0));
                self.copies.push((r0, r3));
                self.adv(rb, 1, fe(2 * vb - 1 - d.r));
                self.place(rb, 2, b[j])?;
                Ok(())
            }
            QKind::Max { windows } if st.wide => {
                let w = &windows[j];
                let (mut m_cell, mut m) = self.lookup(w[0])?;
                for s in &w[1..] {
                    // Row A: d = v - m.
                    let ra = self.row();
                    self.fix(ra, f::Q_LIN, Fr::ONE);
                    self.fix(ra, f::C0, Fr::ONE);
                    self.fix(ra, f::C0 + 1, -Fr::ONE);
                    self.fix(ra, f::C0 + 2, -Fr::ONE);
                    let v = self.place(ra, 0, *s)?;
                    let m_copy = self.adv(ra, 1, fe(m));
                    self.copies.push((m_cell, m_copy));
                    let d = match max_step(m, v, &st) {
                        Ok((d, _, _)) => d,
                        Err(d) if self.strict => return Err(self.range_error(id, d)),
                        Err(_) => 0,
                    };
                    let d_cell = self.adv(ra, 2, fe(d));
                    // Rows B, C: d's sign, then m' = m + d sign / 2^s = max(m, v).
                    let (d_cell, sign) = self.split_row(Some(d_cell), d, id)?;
                    (m_cell, m) = self.by_sign((d_cell, d), sign, Some((m_cell, m)));
                }
                self.set_home(id, m_cell, m);
                Ok(())
            }
            QKind::Max { windows } => {
                let w = &windows[j];
                let (mut m_cell, mut m) = self.lookup(w[0])?;
                let relu = self.tables.tag(Activation::Relu);
                for s in &w[1..] {
                    // Row A: d = v - m and relu(d) by lookup.
                    let ra = self.row();
                    self.fix(ra, f::Q_LIN, Fr::ONE);
                    self.fix(ra, f::C0, -Fr::ONE);
                    self.fix(ra, f::C0 + 1, Fr::ONE);
                    self.fix(ra, f::C0 + 2, -Fr::ONE);
                    self.fix(ra, f::TAG_B, Fr::from(relu));
                    let v = self.place(ra, 1, *s)?;
                    let m_copy = self.adv(ra, 2, fe(m));
                    self.copies.push((m_cell, m_copy));
                    let (d, rd, next) = match max_step(m, v, &st) {
                        Ok(step) => step,
                        Err(d) if self.strict => return Err(self.range_error(id, d)),
                        Err(_) => (0, 0, m),
                    };
                    self.adv(ra, 0, fe(d));
                    let rd_cell = self.adv(ra, 3, fe(rd));
                    // Row B: m' = m + relu(d).
                    let rb = self.row();
                    self.fix(rb, f::Q_LIN, Fr::ONE);
                    self.fix(rb, f::Q_Z, -Fr::ONE);
                    self.fix(rb, f::C0, Fr::ONE);
                    self.fix(rb, f::C0 + 1, Fr::ONE);
                    let c0 = self.adv(rb, 0, fe(m));
                    self.copies.push((m_cell, c0));
                    let c1 = self.adv(rb, 1, fe(rd));
                    self.copies.push((rd_cell, c1));
                    m_cell = self.adv(rb, Z, fe(next));
                    m = next;
                }
                self.set_home(id, m_cell, m);
                Ok(())
            }
        }
    }

    /// `z[-1] + 2^(shift-1) = 2^shift*y + r` (or `z[-1] = y`), `out = act(y)` by lookup, and
    /// `r` exactly in `[0, 2^shift)`: limbs of the range table's width in `x1, x2, x4`
    /// (`x1`'s checked in this row, the others in the rows after).
    fn requant_row(&mut self, id: ValueId, acc: i128, shift: u32, act: Activation) -> Result<()> {
        #[allow(unused_mut)]
        let mut q = self.requant_checked(id, acc, shift, act)?;
        let s = self.model.settings.scale_bits;
        let limbs = cost::remainder_limbs(shift, s);
        #[allow(unused_mut)]
        let mut values = cost::split_remainder(q.r, limbs, s);
        #[cfg(test)]
        if let Some(forge) = self.forge {
            forge(&mut q, shift, act, &mut values);
        }
        if limbs > REMAINDER_COLUMNS.len() {
            return Err(ProverError::Settings(format!(
                "rescale by 2^{shift} needs {limbs} remainder limbs of {s} bits, at most {} fit",
                REMAINDER_COLUMNS.len()
            )));
        }
        let r = self.row();
        self.fix(r, f::Q_LIN, Fr::ONE);
        self.fix(r, f::CHAIN, Fr::ONE);
        let mut limb_cells = Vec::with_capacity(limbs);
        if shift == 0 {
            self.fix(r, f::C0, -Fr::ONE);
        } else {
            self.fix(r, f::C0, -pow2(shift));
            self.fix(r, f::K, pow2(shift - 1));
            self.fix(r, f::TAG_A, Fr::from(RANGE_TAG));
            for (i, (col, limb)) in REMAINDER_COLUMNS.iter().zip(values).enumerate() {
                self.fix(r, f::C0 + col, -pow2(s * i as u32));
                limb_cells.push((self.adv(r, *col, fe(limb)), limb));
            }
        }
        let y = self.adv(r, 0, fe(q.y));
        let st = self.model.settings;
        let looked_up = !st.wide_act(act) && !st.interpolates(act);
        if looked_up {
            self.fix(r, f::TAG_B, Fr::from(self.tables.tag(act)));
            let out = self.adv(r, 3, fe(q.out));
            self.set_home(id, out, q.out);
        }
        self.remainder_checks(shift, &limb_cells);
        if st.wide_act(act) {
            self.wide_output(id, (y, q.y), act)?;
        } else if st.interpolates(act) {
            self.interpolated(id, (y, q.y), act)?;
        }
        Ok(())
    }

    /// `act` of the wide value `v` by [`interpolate`], in five rows:
    /// 1. `2^s h + lo = v`, `lo` in the range table, `(h, f0)` in `act`'s points;
    /// 2. `h1 = h + 1`, `(h1, f1)` in the points, the remainder `r` in the range table;
    /// 3. `t = lo f1 + 2^s f0 - r + 2^(s-1)`;
    /// 4. `2^s out = t - lo f0`;
    /// 5. `out`'s split: a division by `2^s` in the field is an integer for one `r` only,
    ///    and a consumer scaling by a multiple of `2^s` would not notice the others.
    ///
    /// `x0 = h, x1 = lo, x2 = v, x3 = f0`; `x0 = h1, x1 = r, x2 = h, x3 = f1`;
    /// `x0 = lo, x1 = f1, x2 = f0, x4 = r, z = t`; `x0 = lo, x1 = f0, z = out`.
    fn interpolated(&mut self, id: ValueId, v: (Cell, i64), act: Activation) -> Result<()> {
        let st = self.model.settings;
        let s = st.scale_bits;
        #[allow(unused_mut)]
        let mut it = match interpolate(act, v.1, &st) {
            Ok(it) => it,
            Err(e) if self.strict => return Err(self.reject_error(id, act, e)),
            Err(_) => Interp { h: 0, lo: 0, f0: 0, f1: 0, r: 0, out: 0 },
        };
        #[cfg(test)]
        if let Some(forge) = self.forge_interp {
            forge(&mut it, act);
        }
        let tag = Fr::from(self.tables.tag(act));
        let range = Fr::from(RANGE_TAG);

        let r1 = self.row();
        self.fix(r1, f::Q_LIN, Fr::ONE);
        self.fix(r1, f::C0, pow2(s));
        self.fix(r1, f::C0 + 1, Fr::ONE);
        self.fix(r1, f::C0 + 2, -Fr::ONE);
        self.fix(r1, f::TAG_A, range);
        self.fix(r1, f::TAG_B, tag);
        let h = self.adv(r1, 0, fe(it.h));
        let lo = self.adv(r1, 1, fe(it.lo));
        let v_copy = self.adv(r1, 2, fe(v.1));
        self.copies.push((v.0, v_copy));
        let f0 = self.adv(r1, 3, fe(it.f0));

        let r2 = self.row();
        self.fix(r2, f::Q_LIN, Fr::ONE);
        self.fix(r2, f::C0, Fr::ONE);
        self.fix(r2, f::C0 + 2, -Fr::ONE);
        self.fix(r2, f::K, -Fr::ONE);
        self.fix(r2, f::TAG_A, range);
        self.fix(r2, f::TAG_B, tag);
        self.adv(r2, 0, fe(it.h + 1));
        let rem = self.adv(r2, 1, fe(it.r));
        let h_copy = self.adv(r2, 2, fe(it.h));
        self.copies.push((h, h_copy));
        let f1 = self.adv(r2, 3, fe(it.f1));

        let r3 = self.row();
        self.fix(r3, f::Q_LIN, Fr::ONE);
        self.fix(r3, f::Q_Z, -Fr::ONE);
        self.fix(r3, f::M, Fr::ONE);
        self.fix(r3, f::C0 + 2, pow2(s));
        self.fix(r3, f::C0 + 4, -Fr::ONE);
        self.fix(r3, f::K, pow2(s - 1));
        for (col, (home, value)) in
            [(0usize, (lo, it.lo)), (1, (f1, it.f1)), (2, (f0, it.f0)), (4, (rem, it.r))]
        {
            let cell = self.adv(r3, col, fe(value));
            self.copies.push((home, cell));
        }
        let t = ((it.f0 as i128) << s) + it.lo as i128 * it.f1 as i128 - it.r as i128
            + (1i128 << (s - 1));
        self.adv(r3, Z, fe128(t));

        let r4 = self.row();
        self.fix(r4, f::Q_LIN, Fr::ONE);
        self.fix(r4, f::Q_Z, -pow2(s));
        self.fix(r4, f::CHAIN, Fr::ONE);
        self.fix(r4, f::M, -Fr::ONE);
        for (col, (home, value)) in [(0usize, (lo, it.lo)), (1, (f0, it.f0))] {
            let cell = self.adv(r4, col, fe(value));
            self.copies.push((home, cell));
        }
        let out = self.adv(r4, Z, fe(it.out));
        let (out, _) = self.split_row(Some(out), it.out, id)?;
        self.set_home(id, out, it.out);
        Ok(())
    }

    /// The error of a rescale or an interpolation of `act` for value `id`.
    fn reject_error(&self, id: ValueId, act: Activation, e: Reject) -> ProverError {
        match (e, self.node_of(id)) {
            (Reject::Domain(v), Some(n)) => {
                crate::quant::eval::domain_error(n, act, v, &self.model.settings)
            }
            (Reject::Range(v), _) => self.range_error(id, v),
            (Reject::Denominator(v) | Reject::Domain(v) | Reject::Divisor(v), _) => {
                self.range_error(id, v as i128)
            }
        }
    }

    /// Range checks of the remainder limbs beyond the first: each further limb in the
    /// table, and the top limb times `2^(s - top bits)` in the table when it is narrower.
    /// Two checks a row: a copy in `x1` (looked up alone) and one in `x0 = x3` (looked up as
    /// a pair), the shifted one tied to its limb's copy in `x2` by the linear gate.
    fn remainder_checks(&mut self, shift: u32, limbs: &[(Cell, i64)]) {
        let Some(&(top_cell, top)) = limbs.last() else { return };
        let s = self.model.settings.scale_bits;
        let top_bits = shift - s * (limbs.len() as u32 - 1);
        let shifted = (top_bits < s).then(|| (top_cell, top, s - top_bits));
        let mut plain: Vec<(Cell, i64)> = limbs[1..].to_vec();
        let range = Fr::from(RANGE_TAG);
        if let Some((cell, v, by)) = shifted {
            let r = self.row();
            self.fix(r, f::Q_LIN, Fr::ONE);
            self.fix(r, f::C0, Fr::ONE);
            self.fix(r, f::C0 + 2, -pow2(by));
            self.fix(r, f::TAG_B, range);
            self.adv(r, 0, fe(v << by));
            self.adv(r, 3, fe(v << by));
            let copy = self.adv(r, 2, fe(v));
            self.copies.push((cell, copy));
            if let Some((cell, v)) = plain.pop() {
                self.fix(r, f::TAG_A, range);
                let copy = self.adv(r, 1, fe(v));
                self.copies.push((cell, copy));
            }
        }
        for pair in plain.chunks(2) {
            let r = self.row();
            self.fix(r, f::TAG_A, range);
            let copy = self.adv(r, 1, fe(pair[0].1));
            self.copies.push((pair[0].0, copy));
            if let Some(&(cell, v)) = pair.get(1) {
                self.fix(r, f::TAG_B, range);
                let copy = self.adv(r, 0, fe(v));
                self.copies.push((cell, copy));
                self.adv(r, 3, fe(v));
            }
        }
    }

    fn requant_checked(
        &self,
        id: ValueId,
        acc: i128,
        shift: u32,
        act: Activation,
    ) -> Result<Requant> {
        let st = &self.model.settings;
        match requant(acc, shift, act, st) {
            Ok(q) => Ok(q),
            Err(e) if self.strict => Err(self.reject_error(id, act, e)),
            Err(_) => Ok(Requant { y: 0, r: 0, out: 0 }),
        }
    }

    fn division_error(&self, id: ValueId, e: Reject, b: Src) -> ProverError {
        let node = self.node_of(id);
        match (e, node) {
            (Reject::Range(v), _) => self.range_error(id, v),
            (Reject::Denominator(v), Some(n)) => {
                crate::quant::eval::denominator_error(self.model, n, b, v)
            }
            (Reject::Divisor(v), Some(n)) => {
                crate::quant::eval::divisor_error(n, v, &self.model.settings)
            }
            (Reject::Domain(v), Some(n)) => {
                let act = n.kind.activation().unwrap_or(Activation::Identity);
                crate::quant::eval::domain_error(n, act, v, &self.model.settings)
            }
            (_, None) => self.range_error(id, 0),
        }
    }

    /// The node that computes value `id`.
    fn node_of(&self, id: ValueId) -> Option<&QNode> {
        self.model.nodes.iter().find(|n| id >= n.first && ((id - n.first) as usize) < n.kind.len())
    }

    fn range_error(&self, id: ValueId, value: i128) -> ProverError {
        let st = self.model.settings;
        let node = self.node_of(id);
        ProverError::OutOfRange {
            node: node.map(|n| n.name.clone()).unwrap_or_default(),
            op: node.map(|n| n.op.clone()).unwrap_or_default(),
            value,
            bound: node.map_or(st.value_bound(), |n| n.kind.input_bound(&st)) as i128,
            scale_bits: self.model.scale_of(id),
        }
    }
}

/// Field element of a signed 128-bit integer.
fn fe128(v: i128) -> Fr {
    let m = Fr::from_u128(v.unsigned_abs());
    if v < 0 {
        -m
    } else {
        m
    }
}

/// Tables a shard needs: every activation of its nodes, and relu for max pooling. With wide
/// values: the non-negative table for every split, and only the functions read from tables.
pub fn shard_tables(model: &QModel, spec: &ShardSpec) -> Tables {
    let st = &model.settings;
    if st.wide {
        let mut t = Tables { identity: false, acts: vec![Activation::NonNegative] };
        for item in &spec.items {
            match &model.nodes[item.node].kind {
                QKind::Max { .. } => {}
                QKind::Div { act, .. } => {
                    t.register(Activation::Relu);
                    t.register(*act);
                }
                kind => {
                    if let Some(a) = kind.activation().filter(|a| !st.wide_act(*a)) {
                        t.register(a);
                    }
                }
            }
        }
        return t;
    }
    let mut t = Tables { identity: true, acts: Vec::new() };
    for item in &spec.items {
        let kind = &model.nodes[item.node].kind;
        match kind.activation() {
            Some(a) => t.register(a),
            None => t.register(Activation::Relu),
        }
        if matches!(kind, QKind::Div { .. }) {
            t.register(Activation::Relu);
        }
    }
    t
}

/// Builds a shard's layout and witness from the values of its inputs.
///
/// `inputs` are the values of `spec.inputs` (for the first shard, the quantized model
/// input); `salts` blind its input commitment and, unless it is the last shard, its output
/// commitment.
pub fn build(model: &QModel, spec: &ShardSpec, inputs: &[i64], salts: Salts) -> Result<Layout> {
    build_inner(model, spec, inputs, salts, true, NO_FORGES)
}

/// [`build`] by a dishonest witness generator that applies `forge` to every rescale.
#[cfg(test)]
pub fn build_forged(
    model: &QModel,
    spec: &ShardSpec,
    inputs: &[i64],
    salts: Salts,
    forge: Forge,
) -> Result<Layout> {
    build_inner(model, spec, inputs, salts, true, (Some(forge), None, None))
}

/// [`build`] by a dishonest witness generator that applies `forge` to every wide split.
#[cfg(test)]
pub fn build_forged_split(
    model: &QModel,
    spec: &ShardSpec,
    inputs: &[i64],
    salts: Salts,
    forge: SplitForge,
) -> Result<Layout> {
    build_inner(model, spec, inputs, salts, true, (None, Some(forge), None))
}

/// [`build`] by a dishonest witness generator that applies `forge` to every interpolation.
#[cfg(test)]
pub fn build_forged_interp(
    model: &QModel,
    spec: &ShardSpec,
    inputs: &[i64],
    salts: Salts,
    forge: InterpForge,
) -> Result<Layout> {
    build_inner(model, spec, inputs, salts, true, (None, None, Some(forge)))
}

/// [`build`] by a witness generator that writes zeros where the honest one stops with an
/// error, for tests that then write a dishonest witness by hand.
#[cfg(test)]
pub fn build_lenient(
    model: &QModel,
    spec: &ShardSpec,
    inputs: &[i64],
    salts: Salts,
) -> Result<Layout> {
    build_inner(model, spec, inputs, salts, false, NO_FORGES)
}

/// The layout of a shard for keygen: fixed columns and copies only matter, so the
/// witness comes from zero inputs and out-of-range values are tolerated.
pub fn build_for_keygen(model: &QModel, spec: &ShardSpec) -> Result<Layout> {
    build_inner(model, spec, &vec![0; spec.inputs.len()], Salts::default(), false, NO_FORGES)
}

#[cfg(not(test))]
type Forges = ();
#[cfg(test)]
type Forges = (Option<Forge>, Option<SplitForge>, Option<InterpForge>);
/// The honest witness generator's (no) forgeries.
#[cfg(not(test))]
const NO_FORGES: Forges = ();
#[cfg(test)]
const NO_FORGES: Forges = (None, None, None);

fn build_inner(
    model: &QModel,
    spec: &ShardSpec,
    inputs: &[i64],
    salts: Salts,
    strict: bool,
    #[allow(unused_variables)] forges: Forges,
) -> Result<Layout> {
    if inputs.len() != spec.inputs.len() {
        return Err(ProverError::Planning(format!(
            "shard {} expects {} input values, got {}",
            spec.index,
            spec.inputs.len(),
            inputs.len()
        )));
    }
    let mut b = Builder {
        model,
        tables: shard_tables(model, spec),
        fixed: vec![Vec::new(); f::COUNT],
        advice: vec![Vec::new(); NUM_ADVICE],
        copies: Vec::new(),
        instance_cells: Vec::new(),
        home: vec![None; model.num_values()],
        zero: Cell { row: 0, col: 0 },
        strict,
        #[cfg(test)]
        forge: forges.0,
        #[cfg(test)]
        forge_split: forges.1,
        #[cfg(test)]
        forge_interp: forges.2,
    };
    b.zero = b.constant(0);
    let outputs = spec.outputs.clone();
    let public_outputs = spec.is_last && outputs.len() <= MAX_OUTPUTS;
    let descriptor = if spec.is_last {
        let scale = model.output_scale();
        instance::descriptor(instance::shown(&outputs).len(), scale).ok_or_else(|| {
            ProverError::Settings(format!(
                "output scale 2^{scale} does not fit the proof's {}-bit scale field",
                instance::SCALE_BITS
            ))
        })?
    } else {
        0
    };
    let n_out = b.constant(descriptor as i64);
    let mut instances = vec![Fr::ZERO; instance::count()];

    // Input boundary.
    let received = b.receive(&spec.inputs, inputs)?;
    // The salts are free witnesses: the hash binds (salt, values) together, so the chain
    // check between shards still pins the values.
    let mut message: Vec<(Option<Cell>, Fr)> = vec![(None, salts.input)];
    let domain = if spec.index == 0 { DOMAIN_INPUT } else { DOMAIN_LINK };
    message.extend(b.pack(&received).into_iter().map(|(c, v)| (Some(c), v)));
    let (in_cell, in_commit) = b.sponge(domain, &message);
    b.instance_cells.push((in_cell, instance::IN_COMMIT));
    instances[instance::IN_COMMIT] = in_commit;

    // Computation.
    for item in &spec.items {
        let node = &model.nodes[item.node];
        for j in item.outputs.clone() {
            b.item(node.first, &node.kind, j)?;
        }
    }

    // Output boundary.
    let out_cells: Vec<(Cell, i64)> =
        outputs.iter().map(|s| b.lookup(*s)).collect::<Result<_>>()?;
    let mut message: Vec<(Option<Cell>, Fr)> = Vec::new();
    let domain = if spec.is_last {
        DOMAIN_BOUNDARY
    } else {
        message.push((None, salts.output));
        DOMAIN_LINK
    };
    message.extend(b.pack(&out_cells).into_iter().map(|(c, v)| (Some(c), v)));
    let (out_cell, out_commit) = b.sponge(domain, &message);
    b.instance_cells.push((out_cell, instance::OUT_COMMIT));
    instances[instance::OUT_COMMIT] = out_commit;

    b.instance_cells.push((n_out, instance::DESCRIPTOR));
    for slot in 0..MAX_OUTPUTS {
        let (cell, v) = match out_cells.get(slot) {
            Some(c) if public_outputs => *c,
            _ => (b.zero, 0),
        };
        b.instance_cells.push((cell, instance::OUTPUT0 + slot));
        instances[instance::OUTPUT0 + slot] = fe(v);
    }
    instances[instance::DESCRIPTOR] = fe(descriptor as i64);

    // Tables live in their own fixed columns, from row 0.
    let rows = b.advice[0].len();
    let entries = b.tables.entries(&model.settings);
    let total = rows.max(entries.len());
    for c in b.fixed.iter_mut() {
        c.resize(total, Fr::ZERO);
    }
    for (i, e) in entries.iter().enumerate() {
        b.fixed[f::T_TAG][i] = e[0];
        b.fixed[f::T_IN][i] = e[1];
        b.fixed[f::T_OUT][i] = e[2];
    }
    Ok(Layout {
        rows: total,
        fixed: b.fixed,
        advice: b.advice,
        copies: b.copies,
        instance_cells: b.instance_cells,
        instances,
    })
}
