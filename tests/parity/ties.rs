//! Float32 ties in mined tuples. A miner keeps a tuple by comparing a float32 value with a
//! boundary (a margin, epsilon, an angle, the hardest pair, a top-k cutoff), and a different
//! float32 kernel (AVX-512, AMX) can round a value lying on the boundary to its other side. So
//! where our tuples are not exactly PML's, we find which tuples differ, recompute each one's
//! deciding value in float64 and accept the difference only if every such value lies within
//! [`TOLERANCE`] of the boundary, and only if the differing tuples are few.
//!
//! Which tuples differ comes from PML's sketch in the fixture (`generate.py`: an invertible Bloom
//! lookup table of its keys): subtracting ours leaves only the keys in one set and not the
//! other, which peeling recovers. The answer is then verified against PML's SHA-256, so a
//! misdecoded sketch can only fail a case, never pass one.

use metric_learning::distances::Distance;
use metric_learning::tch::{Kind, Tensor};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashSet;

/// How near a deciding value must be to the boundary to count as a tie, relative to the
/// magnitude of the values compared (at least 1). The embeddings are unit vectors of up to 512
/// dimensions, so distances and similarities are about 1, and a float32 dot product over 512
/// terms is within 512 x 6e-8 = 3e-5 of the exact value even in the worst case (typically
/// 1e-6): 1e-4 covers any kernel's rounding, and still is 100 times smaller than a margin off by
/// 0.01, which therefore fails.
pub const TOLERANCE: f64 = 1e-4;

/// At most this many differing tuples per part of a case are accepted as ties: a 2-in-4-million
/// tie is expected of another kernel; more points to a real difference (the sketch could list
/// about 20).
pub const MAX_TIES: usize = 8;

/// The sketch's shape; `generate.py` must use the same.
const TABLES: usize = 3;
const CELLS: usize = 10;

/// splitmix64 of the key with `salt` in its top bits (keys stay below 2^48): salts 0..TABLES
/// place a key in each table, salt TABLES gives its 32-bit check value.
fn key_hash(key: u64, salt: u64) -> u64 {
    let mut z = (key ^ (salt << 48)).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn cell(key: u64, table: usize) -> usize {
    table * CELLS + (key_hash(key, table as u64) % CELLS as u64) as usize
}

fn check(key: u64) -> u64 {
    key_hash(key, TABLES as u64) >> 32
}

/// An invertible Bloom lookup table: per cell, how many keys fell in it and the XOR of those
/// keys and of their check values.
struct Sketch {
    counts: Vec<i64>,
    keys: Vec<u64>,
    checks: Vec<u64>,
}

impl Sketch {
    fn of(keys: &[i64]) -> Sketch {
        let mut sketch = Sketch { counts: vec![0; TABLES * CELLS], keys: vec![0; TABLES * CELLS], checks: vec![0; TABLES * CELLS] };
        for &key in keys {
            sketch.toggle(key as u64, 1);
        }
        sketch
    }

    fn from_json(value: &Value) -> Option<Sketch> {
        let numbers = |field: &str| -> Option<Vec<u64>> { value[field].as_array()?.iter().map(Value::as_u64).collect() };
        let counts = value["counts"].as_array()?.iter().map(Value::as_i64).collect::<Option<Vec<i64>>>()?;
        let (keys, checks) = (numbers("keys")?, numbers("checks")?);
        let size = TABLES * CELLS;
        (counts.len() == size && keys.len() == size && checks.len() == size).then_some(Sketch { counts, keys, checks })
    }

    fn toggle(&mut self, key: u64, count: i64) {
        for table in 0..TABLES {
            let c = cell(key, table);
            self.counts[c] += count;
            self.keys[c] ^= key;
            self.checks[c] ^= check(key);
        }
    }

    /// The keys only in `self` and the keys only in `other`, or `None` when there are too many
    /// to recover.
    fn difference(mut self, other: &Sketch) -> Option<(Vec<i64>, Vec<i64>)> {
        for c in 0..TABLES * CELLS {
            self.counts[c] -= other.counts[c];
            self.keys[c] ^= other.keys[c];
            self.checks[c] ^= other.checks[c];
        }
        let (mut mine, mut theirs) = (Vec::new(), Vec::new());
        // Peel: a cell holding one key (count +-1, matching check, and the key hashes there)
        // gives that key; removing it from its other cells may leave them holding one.
        // Each peel lists one key; a garbled sketch could go on for ever.
        for _ in 0..4 * TABLES * CELLS {
            let pure = (0..TABLES * CELLS).find(|&c| {
                let key = self.keys[c];
                self.counts[c].abs() == 1 && self.checks[c] == check(key) && (0..TABLES).any(|t| cell(key, t) == c)
            });
            let Some(c) = pure else { break };
            let (key, count) = (self.keys[c], self.counts[c]);
            if count == 1 { mine.push(key as i64) } else { theirs.push(key as i64) }
            self.toggle(key, -count);
        }
        let empty = self.counts.iter().all(|&n| n == 0) && self.keys.iter().all(|&k| k == 0) && self.checks.iter().all(|&k| k == 0);
        empty.then_some((mine, theirs))
    }
}

/// Count and SHA-256 of the sorted keys as little-endian int64 (as `generate.py`'s `digest`).
pub fn digest(keys: &[i64]) -> (usize, String) {
    let mut keys = keys.to_vec();
    keys.sort_unstable();
    let bytes: Vec<u8> = keys.iter().flat_map(|k| k.to_le_bytes()).collect();
    let hash = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    (keys.len(), hash)
}

/// Which tuples of `part` (ours, as keys) differ from PML's (`want`: count, SHA-256 and sketch),
/// accepted when each is a tie by `boundary`: the number of differing tuples and PML's keys, or
/// why not.
pub fn accept(part: &str, ours: &[i64], want: &Value, boundary: Option<&Boundary>) -> Result<(usize, Vec<i64>), String> {
    let pml_count = want["count"].as_u64().unwrap_or(0);
    let differ = format!("{part} differ: {} tuples, PML {pml_count}", ours.len());
    let pml = Sketch::from_json(&want["sketch"]).ok_or_else(|| format!("{differ} (no sketch in the fixture to find which)"))?;
    let (only_pml, only_ours) = pml.difference(&Sketch::of(ours)).ok_or_else(|| format!("{differ} (too many to list)"))?;
    // The sketch's answer must turn our tuples into exactly PML's.
    let dropped: HashSet<i64> = only_ours.iter().copied().collect();
    let mut fixed: Vec<i64> = ours.iter().copied().filter(|k| !dropped.contains(k)).chain(only_pml.iter().copied()).collect();
    fixed.sort_unstable();
    let (count, hash) = digest(&fixed);
    if count as u64 != pml_count || want["sha256"].as_str() != Some(hash.as_str()) {
        return Err(format!("{differ} (the sketch's difference does not reproduce PML's set)"));
    }
    let total = only_pml.len() + only_ours.len();
    if total > MAX_TIES {
        return Err(format!("{differ}: {} only in ours, {} only in PML's, more than {MAX_TIES} ties", only_ours.len(), only_pml.len()));
    }
    // No boundary for this miner: an exact mismatch stays a failure.
    let boundary = boundary.ok_or_else(|| format!("{differ} (no tie check for this miner)"))?;
    if boundary.rule.fixed_count() && ours.len() as u64 != pml_count {
        return Err(format!("{differ}: this miner's count depends on the labels only"));
    }
    for (side, keys) in [("only ours", &only_ours), ("only PML's", &only_pml)] {
        for &key in keys.iter() {
            boundary.tie(part, key).map_err(|why| format!("{differ}: {side} has {}, not a tie: {why}", boundary.tuple(part, key)))?;
        }
    }
    Ok((total, fixed))
}

/// What a miner compares, and with which boundary (PML's parameters of the case).
#[derive(Clone, Copy, Debug)]
pub enum Rule {
    /// `TripletMarginMiner`: `t = d(a,n) - d(a,p)` against the margin, and against 0 as well
    /// for hard and semihard triplets.
    TripletMargin { margin: f64, also_zero: bool },
    /// `PairMarginMiner`: a positive pair's distance against `pos_margin`, a negative's against
    /// `neg_margin`.
    PairMargin { pos_margin: f64, neg_margin: f64 },
    /// `MultiSimilarityMiner`: a positive pair against the anchor's hardest negative, a
    /// negative pair against its hardest positive, `epsilon` apart.
    MultiSimilarity { epsilon: f64 },
    /// `BatchHardMiner`: per anchor the furthest positive and the closest negative; a tie is
    /// an anchor whose best two positives (or negatives) are within the tolerance.
    BatchHard,
    /// `HDCMiner`: the hardest `fraction` of each kind of pair; the boundary is the value of
    /// the last pair kept (the top-k cutoff).
    Hdc { fraction: f64 },
    /// `AngularMiner`: the angle at the negative against the threshold (degrees).
    Angular { degrees: f64 },
}

impl Rule {
    /// Whether the number of tuples is set by the labels alone (one per anchor, or a fraction of
    /// all pairs), so that a tie can only swap tuples, never add or drop one.
    fn fixed_count(self) -> bool {
        matches!(self, Rule::BatchHard | Rule::Hdc { .. })
    }
}

/// A rule with the case's inputs in float64: the miner's distance matrix, the pair masks and
/// the embeddings.
pub struct Boundary {
    rule: Rule,
    distance: Box<dyn Distance>,
    query: Tensor,
    reference: Tensor,
    columns: usize,
    /// The distance matrix, row-major, as "how far apart" (similarities negated), so that
    /// larger is further for every distance.
    apart: Vec<f64>,
    positive: Vec<bool>,
    negative: Vec<bool>,
    /// HDC's cutoffs (positive, negative), as "how far apart".
    cutoffs: (f64, f64),
}

impl Boundary {
    pub fn new(rule: Rule, distance: Box<dyn Distance>, query: &Tensor, labels: &Tensor, reference: Option<(&Tensor, &Tensor)>) -> Boundary {
        let query = query.to_kind(Kind::Double);
        let has_reference = reference.is_some();
        let (reference, ref_labels) = match reference {
            Some((embeddings, labels)) => (embeddings.to_kind(Kind::Double), labels.shallow_clone()),
            None => (query.shallow_clone(), labels.shallow_clone()),
        };
        let sign = if distance.is_inverted() { -1.0 } else { 1.0 };
        let matrix = distance.matrix(&query, &reference);
        let apart: Vec<f64> = Vec::<f64>::try_from(matrix.flatten(0, -1)).unwrap_or_default().into_iter().map(|v| sign * v).collect();
        let rows = Vec::<i64>::try_from(labels).unwrap_or_default();
        let cols = Vec::<i64>::try_from(&ref_labels).unwrap_or_default();
        let columns = cols.len();
        let (mut positive, mut negative) = (Vec::new(), Vec::new());
        for (i, a) in rows.iter().enumerate() {
            for (j, b) in cols.iter().enumerate() {
                // Without a reference, a sample is not its own positive (PML's pair indices).
                positive.push(a == b && (has_reference || i != j));
                negative.push(a != b);
            }
        }
        let mut boundary = Boundary { rule, distance, query, reference, columns, apart, positive, negative, cutoffs: (0.0, 0.0) };
        if let Rule::Hdc { fraction } = rule {
            boundary.cutoffs = (boundary.cutoff(&boundary.positive, fraction, true), boundary.cutoff(&boundary.negative, fraction, false));
        }
        boundary
    }

    /// The value of the last pair HDC keeps of the masked pairs: the k-th furthest (or
    /// closest), k = ceil(fraction x count) as the miner takes it.
    fn cutoff(&self, mask: &[bool], fraction: f64, furthest: bool) -> f64 {
        let mut values: Vec<f64> = self.apart.iter().zip(mask).filter(|(_, &m)| m).map(|(&v, _)| v).collect();
        let k = (fraction * values.len() as f64).ceil() as usize;
        if k == 0 {
            return f64::NAN;
        }
        values.sort_by(|x, y| if furthest { y.total_cmp(x) } else { x.total_cmp(y) });
        values[k - 1]
    }

    fn at(&self, i: usize, j: usize) -> f64 {
        self.apart[i * self.columns + j]
    }

    /// The row's values among the masked pairs.
    fn row<'a>(&'a self, i: usize, mask: &'a [bool]) -> impl Iterator<Item = f64> + 'a {
        (0..self.columns).filter(move |&j| mask[i * self.columns + j]).map(move |j| self.at(i, j))
    }

    fn split(&self, part: &str, key: i64) -> Vec<usize> {
        let c = self.columns as i64;
        let parts = if part == "triplets" { vec![key / (c * c), key / c % c, key % c] } else { vec![key / c, key % c] };
        parts.into_iter().map(|v| v as usize).collect()
    }

    /// The tuple of a key, for messages.
    pub fn tuple(&self, part: &str, key: i64) -> String {
        format!("{part} {:?}", self.split(part, key))
    }

    /// `Ok` when the tuple's deciding value lies within the tolerance of the rule's boundary.
    pub fn tie(&self, part: &str, key: i64) -> Result<(), String> {
        let t = self.split(part, key);
        let positive_part = part == "positive";
        match self.rule {
            Rule::TripletMargin { margin, also_zero } => {
                let (ap, an) = (self.at(t[0], t[1]), self.at(t[0], t[2]));
                let (value, scale) = (an - ap, ap.abs().max(an.abs()));
                near("d(a,n) - d(a,p)", value, margin, scale).or_else(|why| if also_zero { near("d(a,n) - d(a,p)", value, 0.0, scale) } else { Err(why) })
            }
            Rule::PairMargin { pos_margin, neg_margin } => {
                let value = self.at(t[0], t[1]);
                // The margins are in the distance's own sign; `apart` negates similarities.
                let sign = if self.distance.is_inverted() { -1.0 } else { 1.0 };
                near("the distance", value, sign * if positive_part { pos_margin } else { neg_margin }, value.abs())
            }
            Rule::MultiSimilarity { epsilon } => {
                let value = self.at(t[0], t[1]);
                // A positive is kept when further than the closest negative less epsilon, a
                // negative when closer than the furthest positive plus epsilon. An anchor without
                // the other kind has an infinite hardest value, which nothing is near.
                let (hardest, shifted) = if positive_part {
                    (self.row(t[0], &self.negative).fold(f64::INFINITY, f64::min), value + epsilon)
                } else {
                    (self.row(t[0], &self.positive).fold(f64::NEG_INFINITY, f64::max), value - epsilon)
                };
                near("the distance shifted by epsilon", shifted, hardest, value.abs())
            }
            Rule::BatchHard => {
                let (a, p, n) = (t[0], t[1], t[2]);
                let furthest = self.row(a, &self.positive).fold(f64::NEG_INFINITY, f64::max);
                let closest = self.row(a, &self.negative).fold(f64::INFINITY, f64::min);
                let tol = |v: f64| TOLERANCE * v.abs().max(1.0);
                let near_furthest = self.row(a, &self.positive).filter(|&v| v >= furthest - tol(v)).count();
                let near_closest = self.row(a, &self.negative).filter(|&v| v <= closest + tol(v)).count();
                let (ap, an) = (self.at(a, p), self.at(a, n));
                // The tuple must be among the nearly hardest of both kinds, and one of the
                // choices must be open to rounding (a second candidate within the tolerance).
                if ap < furthest - tol(ap) || an > closest + tol(an) || (near_furthest < 2 && near_closest < 2) {
                    return Err(format!("d(a,p) {ap:.9} (furthest {furthest:.9}, {near_furthest} near it), d(a,n) {an:.9} (closest {closest:.9}, {near_closest} near it)"));
                }
                Ok(())
            }
            Rule::Hdc { .. } => {
                let value = self.at(t[0], t[1]);
                let cutoff = if positive_part { self.cutoffs.0 } else { self.cutoffs.1 };
                near("the distance", value, cutoff, value.abs())
            }
            Rule::Angular { degrees } => {
                let (a, p, n) = (self.query.get(t[0] as i64).unsqueeze(0), self.reference.get(t[1] as i64).unsqueeze(0), self.reference.get(t[2] as i64).unsqueeze(0));
                // As the miner computes it: atan(d(a,p) / (2 d(n, (a + p) / 2))), pairwise distances.
                let centre = (&a + &p) / 2.0;
                let ratio = self.distance.pairwise(&a, &p) / (self.distance.pairwise(&n, &centre) * 2.0);
                let angle = ratio.atan().double_value(&[0]);
                near("the angle", angle, degrees.to_radians(), angle.abs())
            }
        }
    }
}

/// `Ok` when `value` is within the tolerance of `boundary`, relative to `scale` (at least 1).
/// An infinite boundary (an anchor without pairs of the other kind) has no ties.
fn near(what: &str, value: f64, boundary: f64, scale: f64) -> Result<(), String> {
    let gap = (value - boundary).abs();
    if boundary.is_finite() && gap <= TOLERANCE * scale.max(boundary.abs()).max(1.0) {
        Ok(())
    } else {
        Err(format!("{what} {value:.9} is {gap:.2e} from the boundary {boundary:.9}"))
    }
}
