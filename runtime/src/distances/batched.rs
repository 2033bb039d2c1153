use super::Distance;
use crate::component::Record;
use crate::{Error, Result};
use tch::Tensor;

/// A distance's matrix in chunks of `batch_size` query rows, for query sets whose full matrix
/// would not fit (PML's `BatchedDistance`). [`BatchedDistance::chunks`] yields each chunk with
/// its first row, [`BatchedDistance::for_each`] calls a function on each as PML's `iter_fn`
/// does; as a [`Distance`] it is the distance it wraps (its matrix assembled from the chunks).
#[derive(Debug, Clone)]
pub struct BatchedDistance {
    distance: Box<dyn Distance>,
    batch_size: i64,
}

impl BatchedDistance {
    /// Chunks of `batch_size` rows (PML's default is 32).
    pub fn new(distance: impl Distance + 'static, batch_size: i64) -> BatchedDistance {
        BatchedDistance { distance: Box::new(distance), batch_size }
    }

    /// The distance it computes.
    pub fn distance(&self) -> &dyn Distance {
        self.distance.as_ref()
    }

    /// Rows per chunk.
    pub fn batch_size(&self) -> i64 {
        self.batch_size
    }

    /// `(first row, matrix of the queries from it to the next chunk's against every
    /// reference)`, chunk after chunk; the references are the queries when `None`.
    ///
    /// # Errors
    /// When `batch_size` is not positive, or the two sets are not 2-D of one width.
    pub fn chunks<'a>(&'a self, query: &'a Tensor, reference: Option<&'a Tensor>) -> Result<impl Iterator<Item = (i64, Tensor)> + 'a> {
        let reference = reference.unwrap_or(query);
        let (q, r) = (query.size(), reference.size());
        if self.batch_size <= 0 {
            return Err(Error::config(format!("BatchedDistance: batch_size must be positive, found {}", self.batch_size)));
        }
        if q.len() != 2 || r.len() != 2 || q[1] != r[1] {
            return Err(Error::data(format!("BatchedDistance: query and reference embeddings must be 2-D of one width, found {q:?} and {r:?}")));
        }
        let rows = q[0];
        Ok((0..rows).step_by(self.batch_size as usize).map(move |start| {
            let chunk = query.narrow(0, start, self.batch_size.min(rows - start));
            (start, self.distance.matrix(&chunk, reference))
        }))
    }

    /// Calls `f(matrix, start, end)` on each chunk of rows `start..end` (PML's `iter_fn`; its
    /// `end` may pass the last row, this one stops there).
    ///
    /// # Errors
    /// As [`BatchedDistance::chunks`], or the first error of `f`.
    pub fn for_each(&self, query: &Tensor, reference: Option<&Tensor>, mut f: impl FnMut(&Tensor, i64, i64) -> Result<()>) -> Result<()> {
        for (start, matrix) in self.chunks(query, reference)? {
            f(&matrix, start, start + matrix.size()[0])?;
        }
        Ok(())
    }
}

impl Distance for BatchedDistance {
    fn matrix(&self, query: &Tensor, reference: &Tensor) -> Tensor {
        match self.chunks(query, Some(reference)) {
            Ok(chunks) => {
                let parts: Vec<Tensor> = chunks.map(|(_, m)| m).collect();
                if parts.is_empty() { self.distance.matrix(query, reference) } else { Tensor::cat(&parts, 0) }
            }
            // What the wrapped distance does with such input.
            Err(_) => self.distance.matrix(query, reference),
        }
    }
    fn entries(&self, query: &Tensor, reference: &Tensor, rows: &Tensor, columns: &Tensor) -> Tensor {
        if super::few(rows.numel() as i64, query.size()[0], reference.size()[0]) {
            self.distance.entries(query, reference, rows, columns)
        } else {
            super::gather_pairs(&self.matrix(query, reference), rows, columns)
        }
    }
    fn few_pairs(&self, entries: i64, queries: i64, references: i64) -> bool {
        self.distance.few_pairs(entries, queries, references)
    }
    fn pairwise(&self, x: &Tensor, y: &Tensor) -> Tensor {
        self.distance.pairwise(x, y)
    }
    fn is_inverted(&self) -> bool {
        self.distance.is_inverted()
    }
    fn clone_box(&self) -> Box<dyn Distance> {
        Box::new(self.clone())
    }
    fn records(&self) -> Vec<Record> {
        self.distance.records()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distances::{CosineSimilarity, LpDistance};
    use tch::{Device, Kind};

    #[test]
    fn chunks_assemble_to_the_full_matrix() {
        tch::manual_seed(7);
        let query = Tensor::randn([23, 5], (Kind::Float, Device::Cpu));
        let reference = Tensor::randn([11, 5], (Kind::Float, Device::Cpu));
        for (distance, reference) in [(Box::new(LpDistance::new()) as Box<dyn Distance>, None), (Box::new(CosineSimilarity::new()), Some(&reference))] {
            let full = distance.matrix(&query, reference.unwrap_or(&query));
            let batched = BatchedDistance { distance: distance.clone_box(), batch_size: 4 };
            let mut seen = Vec::new();
            batched
                .for_each(&query, reference, |matrix, start, end| {
                    assert_eq!(matrix.size()[0], end - start);
                    // A chunk's matrix product may take another kernel than the whole one's
                    // (by its row count), so the sums can differ in their last bit.
                    let expected = full.narrow(0, start, end - start);
                    let gap = (matrix - &expected).abs().max().double_value(&[]);
                    assert!(gap < 1e-5, "rows {start}..{end} differ from the full matrix by {gap}");
                    seen.push((start, end));
                    Ok(())
                })
                .unwrap();
            assert_eq!(seen, vec![(0, 4), (4, 8), (8, 12), (12, 16), (16, 20), (20, 23)]);
            assert!(batched.matrix(&query, reference.unwrap_or(&query)).allclose(&full, 1e-5, 1e-5, false));
        }
        let refused = BatchedDistance::new(LpDistance::new(), 0).chunks(&query, None).err();
        assert!(refused.is_some_and(|e| e.to_string().contains("batch_size")));
    }
}
