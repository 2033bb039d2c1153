//! Parity of the AccuracyCalculator with PML 2.9.0's: every case of `accuracy_fixtures/*.json`
//! (written by `generate_accuracy.py`, run by hand) recomputed here, every metric equal to
//! 1e-6. The embeddings are regenerated from the stored seeds (libtorch's generator is
//! PyTorch's), checked by their checksum. Each case runs with the default blocks and with tiny
//! ones, so that the running top-k's merges are exercised too.

use metric_learning::evaluation::{Accuracies, AccuracyCalculator, KnnDistance, Metric, Score, K};
use metric_learning::tch::{self, Device, Kind, Tensor};
use serde_json::Value;
use std::path::Path;

/// A set's embeddings as `generate_accuracy.py` makes them: randn from the seed, rows copied,
/// optionally rounded to a grid.
///
/// The draw holds the binary's generator lock (`super::generator_lock`), so that no other test
/// reseeds the generator midway; the checksum proves it.
fn embeddings(spec: &Value, case: &str) -> Tensor {
    let get = |key: &str| spec[key].as_i64().unwrap_or_else(|| panic!("{case}: field {key}"));
    let expected = spec["checksum"].as_f64().expect("checksum");
    let mut x = {
        let _lock = super::generator_lock();
        tch::manual_seed(get("seed"));
        Tensor::randn([get("n"), get("d")], (Kind::Float, Device::Cpu))
    };
    for copy in spec["copies"].as_array().into_iter().flatten() {
        let (dst, src) = (copy[0].as_i64().expect("row"), copy[1].as_i64().expect("row"));
        x.get(dst).copy_(&x.get(src));
    }
    if spec["grid"].as_bool() == Some(true) {
        x = (x * 1.5).round();
    }
    let checksum = x.to_kind(Kind::Double).sum(Kind::Double).double_value(&[]);
    assert!((checksum - expected).abs() <= 1e-6 * expected.abs().max(1.0), "{case}: regenerated embeddings differ from PML's");
    x
}

fn labels(value: &Value) -> Vec<i64> {
    value.as_array().expect("labels").iter().map(|v| v.as_i64().expect("integer label")).collect()
}

fn calculator(case: &Value) -> AccuracyCalculator {
    let k = match &case["k"] {
        Value::Null => K::All,
        Value::String(s) if s == "max_bin_count" => K::MaxBinCount,
        v => K::Count(v.as_i64().expect("integer k")),
    };
    let names: Vec<&str> = case["include"].as_array().expect("include").iter().map(|v| v.as_str().expect("name")).collect();
    let distance = if case["cosine"].as_bool() == Some(true) { KnnDistance::Cosine } else { KnnDistance::Euclidean };
    AccuracyCalculator::new()
        .include(Metric::parse_all(&names).expect("PML's names"))
        .k(k)
        .avg_of_avgs(case["avg_of_avgs"].as_bool() == Some(true))
        .return_per_class(case["return_per_class"].as_bool() == Some(true))
        .distance(distance)
}

fn run(case: &Value, calculator: &AccuracyCalculator) -> Accuracies {
    let name = case["name"].as_str().unwrap_or("?");
    let query = embeddings(&case["query"], name);
    let query_labels = Tensor::from_slice(&labels(&case["query_labels"]));
    if case["reference"].is_null() {
        return calculator.get_accuracy(&query, &query_labels).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let mut reference = embeddings(&case["reference"], name);
    let mut reference_labels = Tensor::from_slice(&labels(&case["reference_labels"]));
    if case["reference"]["query_first"].as_bool() == Some(true) {
        reference = Tensor::cat(&[&query, &reference], 0);
        reference_labels = Tensor::cat(&[&query_labels, &reference_labels], 0);
    }
    let ref_includes_query = case["ref_includes_query"].as_bool() == Some(true);
    calculator
        .get_accuracy_against(&query, &query_labels, &reference, &reference_labels, ref_includes_query)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Equal to 1e-6, NaN (null in the JSON) equal to NaN.
fn close(ours: f64, pml: &Value) -> bool {
    match pml.as_f64() {
        None => ours.is_nan(),
        Some(pml) => (ours - pml).abs() <= 1e-6,
    }
}

fn compare(case: &Value, ours: &Accuracies) -> Vec<String> {
    let name = case["name"].as_str().unwrap_or("?");
    let mut failures = Vec::new();
    let expected = case["expected"].as_object().expect("expected");
    if ours.iter().count() != expected.len() {
        failures.push(format!("{name}: {} metrics, PML {}", ours.iter().count(), expected.len()));
    }
    for (metric_name, pml) in expected {
        let metric: Metric = metric_name.parse().expect("PML's name");
        match (ours.score(metric), pml) {
            (Some(Score::Value(v)), pml) if !pml.is_array() => {
                if !close(*v, pml) {
                    failures.push(format!("{name}/{metric_name}: ours {v}, PML {pml}"));
                }
            }
            (Some(Score::PerClass { values, .. }), Value::Array(pml)) => {
                let equal = values.len() == pml.len() && values.iter().zip(pml).all(|(v, p)| close(*v, p));
                if !equal {
                    failures.push(format!("{name}/{metric_name}: ours {values:?}, PML {pml:?}"));
                }
            }
            (score, pml) => failures.push(format!("{name}/{metric_name}: ours {score:?}, PML {pml}")),
        }
    }
    failures
}

fn cases() -> Vec<Value> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("parity/accuracy_fixtures");
    let mut paths: Vec<_> = std::fs::read_dir(&dir).expect("tests/parity/accuracy_fixtures").map(|e| e.expect("entry").path()).collect();
    paths.sort();
    paths.iter().map(|p| serde_json::from_str(&std::fs::read_to_string(p).expect("fixture")).expect("JSON")).collect()
}

#[test]
fn every_metric_matches_pml_on_every_case() {
    tch::set_num_threads(1);
    let cases = cases();
    assert!(cases.len() >= 25, "expected the fixtures of generate_accuracy.py, found {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let default = calculator(case);
        failures.extend(compare(case, &run(case, &default)));
        // Tiny blocks: several query blocks and many reference tiles merged into the running top-k.
        failures.extend(compare(case, &run(case, &default.clone().block_sizes(7, 13))).into_iter().map(|f| format!("blocks 7x13: {f}")));
    }
    assert!(failures.is_empty(), "{} mismatches with PML:\n{}", failures.len(), failures.join("\n"));
}

/// PML crashes when mean_reciprocal_rank is asked for alone (it does not run the k-NN for it);
/// here it is the value PML gives when another metric makes it run.
#[test]
fn mean_reciprocal_rank_alone_is_the_value_pml_gives_alongside_precision_at_1() {
    let case = cases().into_iter().find(|c| c["name"] == "mrr_with_p1").expect("fixture mrr_with_p1");
    let alone = run(&case, &calculator(&case).include([Metric::MeanReciprocalRank]));
    let pml = case["expected"]["mean_reciprocal_rank"].as_f64().expect("value");
    let ours = alone.get(Metric::MeanReciprocalRank).expect("computed");
    assert!((ours - pml).abs() <= 1e-6, "ours {ours}, PML {pml}");
}

/// The k below the max bin count with R-based metrics on: PML's warning, returned.
#[test]
fn k_below_the_max_bin_count_warns_as_pml_does() {
    let case = cases().into_iter().find(|c| c["name"] == "self_k_int").expect("fixture self_k_int");
    let result = run(&case, &calculator(&case));
    assert_eq!(result.k, Some(5));
    assert!(result.warnings.iter().any(|w| w.contains("less than the max bin count (27)")), "{:?}", result.warnings);
}
