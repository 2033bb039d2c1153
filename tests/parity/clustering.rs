//! Parity of NMI and AMI with scikit-learn and PML 2.9.0 (`clustering_fixtures.json`, written
//! by `generate_clustering.py`, run by hand): the formulas on given (labels, assignments)
//! pairs to 1e-9, and the calculator end to end on seeded, well-separated blobs to 0.02 of
//! PML's values (its k-means is faiss's, ours k-means++ from our seed: the partitions, not the
//! arithmetic, may differ).

use metric_learning::evaluation::{adjusted_mutual_info, normalized_mutual_info, AccuracyCalculator, Metric, Score};
use metric_learning::tch::{self, Device, Kind, Tensor};
use serde_json::Value;
use std::path::Path;

fn fixtures() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("parity/clustering_fixtures.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("tests/parity/clustering_fixtures.json")).expect("JSON")
}

fn integers(value: &Value) -> Vec<i64> {
    value.as_array().expect("array").iter().map(|v| v.as_i64().expect("integer")).collect()
}

#[test]
fn nmi_and_ami_formulas_match_scikit_learn() {
    let fixtures = fixtures();
    let pairs = fixtures["pairs"].as_array().expect("pairs");
    assert!(pairs.len() >= 10, "expected the pairs of generate_clustering.py, found {}", pairs.len());
    let mut failures = Vec::new();
    for pair in pairs {
        let name = pair["name"].as_str().unwrap_or("?");
        let (labels, assignments) = (integers(&pair["labels"]), integers(&pair["assignments"]));
        let ours = [
            ("NMI", normalized_mutual_info(&labels, &assignments).expect("same lengths")),
            ("AMI", adjusted_mutual_info(&labels, &assignments).expect("same lengths")),
        ];
        for (metric, value) in ours {
            let sklearn = pair[metric].as_f64().expect("value");
            if (value - sklearn).abs() > 1e-9 {
                failures.push(format!("{name}/{metric}: ours {value}, scikit-learn {sklearn}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} mismatches with scikit-learn:\n{}", failures.len(), failures.join("\n"));
}

/// The blobs as `generate_clustering.py` draws them: centres randn * 8, then points
/// centre + randn * 0.5, labels i % classes; drawn under the binary's generator lock, and
/// checked by their checksum.
fn blobs(case: &Value) -> (Tensor, Tensor) {
    let get = |key: &str| case[key].as_i64().unwrap_or_else(|| panic!("end_to_end: field {key}"));
    let (n, d, classes) = (get("n"), get("d"), get("classes"));
    let (centres, noise) = {
        let _lock = super::generator_lock();
        tch::manual_seed(get("seed"));
        let centres = Tensor::randn([classes, d], (Kind::Float, Device::Cpu)) * 8.0;
        (centres, Tensor::randn([n, d], (Kind::Float, Device::Cpu)))
    };
    let labels = Tensor::arange(n, (Kind::Int64, Device::Cpu)).remainder(classes);
    let x = centres.index_select(0, &labels) + noise * 0.5;
    let checksum = x.to_kind(Kind::Double).sum(Kind::Double).double_value(&[]);
    let expected = case["checksum"].as_f64().expect("checksum");
    assert!((checksum - expected).abs() <= 1e-6 * expected.abs().max(1.0), "regenerated blobs differ from PML's: {checksum} vs {expected}");
    (x, labels)
}

#[test]
fn nmi_and_ami_end_to_end_are_near_one_and_near_pml() {
    let fixtures = fixtures();
    let case = &fixtures["end_to_end"];
    let (x, labels) = blobs(case);
    for seed in [0, 1, 2] {
        let calculator = AccuracyCalculator::new().include([Metric::Nmi, Metric::Ami]).seed(seed);
        let result = calculator.get_accuracy(&x, &labels).expect("accuracy");
        assert_eq!(result.k, None, "the k-NN should not run for NMI and AMI alone");
        assert_eq!(result.iter().map(|(m, _)| m).collect::<Vec<_>>(), vec![Metric::Ami, Metric::Nmi], "PML's order");
        for metric in [Metric::Nmi, Metric::Ami] {
            let ours = result.get(metric).expect("computed");
            let pml = case["expected"][metric.name()].as_f64().expect("PML's value");
            assert!(ours > 0.98, "seed {seed}: {metric} {ours}, expected near 1");
            assert!((ours - pml).abs() <= 0.02, "seed {seed}: {metric} ours {ours}, PML {pml}");
        }
        // With per-class results asked for, they stay one number, as in PML.
        let per_class = calculator.clone().return_per_class(true).get_accuracy(&x, &labels).expect("accuracy");
        assert!(matches!(per_class.score(Metric::Nmi), Some(Score::Value(_))), "{per_class}");
        assert_eq!(per_class, result, "the seed makes the clustering reproducible");
    }
}
