//! The IDX reader (Fashion-MNIST's files) on thousands of random truncations and bit flips of a
//! real file, plain and gzipped, and random bytes: an image tensor or an error naming the file,
//! never a panic.

use metric_learning::data::{read_idx_images, read_idx_labels};
use metric_learning::Error;
use rand::{Rng, SeedableRng};
use std::io::Write;

fn idx3(n: u32, rows: u32, cols: u32) -> Vec<u8> {
    let mut bytes = vec![0, 0, 8, 3];
    for d in [n, rows, cols] {
        bytes.extend(d.to_be_bytes());
    }
    bytes.extend((0..n * rows * cols).map(|i| i as u8));
    bytes
}

fn gzipped(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn random_damage_to_idx_files_never_panics() {
    let path = std::env::temp_dir().join(format!("metric-learning-idx-fuzz-{}", std::process::id()));
    let originals = [idx3(3, 4, 5), gzipped(&idx3(3, 4, 5))];
    std::fs::write(&path, &originals[0]).unwrap();
    assert_eq!(read_idx_images(&path).unwrap().size(), [3, 4, 5]);
    std::fs::write(&path, &originals[1]).unwrap();
    assert_eq!(read_idx_images(&path).unwrap().size(), [3, 4, 5]);
    let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    for case in 0..3000 {
        let original = &originals[case % 2];
        let copy: Vec<u8> = match case % 3 {
            0 => original[..rng.gen_range(0..original.len())].to_vec(),
            1 => {
                let mut copy = original.clone();
                let at = rng.gen_range(0..copy.len());
                copy[at] ^= 1 << rng.gen_range(0..8);
                copy
            }
            _ => (0..rng.gen_range(0..256)).map(|_| rng.gen()).collect(),
        };
        std::fs::write(&path, &copy).unwrap();
        for result in [std::panic::catch_unwind(|| read_idx_images(&path).map(|_| ())), std::panic::catch_unwind(|| read_idx_labels(&path).map(|_| ()))] {
            match result {
                Ok(Ok(())) | Ok(Err(Error::File { .. })) => {}
                Ok(Err(other)) => panic!("case {case}: expected a file error, found {other}"),
                Err(_) => panic!("case {case}: reading a damaged IDX file panicked"),
            }
        }
    }
    std::fs::remove_file(&path).unwrap();
}
