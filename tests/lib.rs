//! Shared helpers of the integration tests (`it/`): small models, synthetic and real data.

use metric_learning::data::{FashionMnist, InMemoryDataset, Labels, Split};
use metric_learning::prelude::*;

/// libtorch's thread pool is process-wide and the harness runs tests in parallel: one thread
/// each keeps two tests from slowing each other five-fold on a 2-core machine.
pub fn one_thread() {
    tch::set_num_threads(1);
}

/// The demo's trunk (784-256-ReLU-128) and embedder (128-64), on the CPU.
pub fn mlp() -> (Model, Model) {
    let trunk = Model::build(Device::Cpu, |p| {
        nn::seq_t()
            .add(nn::linear(p / "fc1", 784, 256, Default::default()))
            .add_fn(|x| x.relu())
            .add(nn::linear(p / "fc2", 256, 128, Default::default()))
    });
    let embedder = Model::build(Device::Cpu, |p| nn::seq_t().add(nn::linear(p / "fc", 128, 64, Default::default())));
    (trunk, embedder)
}

/// A linear model `in -> out`.
pub fn linear(input: i64, output: i64) -> Model {
    Model::build(Device::Cpu, |p| nn::seq_t().add(nn::linear(p / "fc", input, output, Default::default())))
}

/// A linear model `in -> out` whose initial weights come from Rust's generator seeded with
/// `seed` (uniform in ±1/sqrt(in), as PyTorch's default), not libtorch's: libtorch's generator
/// is one per process, and tests on other threads draw from it (and reseed it) meanwhile.
pub fn seeded_linear(input: i64, output: i64, seed: u64) -> Model {
    use rand::{Rng, SeedableRng};
    let model = linear(input, output);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let bound = 1.0 / (input as f64).sqrt();
    if let Some(vs) = model.var_store() {
        tch::no_grad(|| {
            for (_, mut var) in vs.variables() {
                let values: Vec<f32> = (0..var.numel()).map(|_| rng.gen_range(-bound..bound) as f32).collect();
                var.copy_(&Tensor::from_slice(&values).reshape(var.size()));
            }
        });
    }
    model
}

/// `per_class` points around each of `classes` random centres in `width` dimensions.
pub fn clusters(classes: i64, per_class: i64, width: i64) -> InMemoryDataset {
    let centres = Tensor::randn([classes, width], (Kind::Float, Device::Cpu)) * 3.0;
    let labels: Vec<i64> = (0..classes).flat_map(|c| std::iter::repeat_n(c, per_class as usize)).collect();
    let index = Tensor::from_slice(&labels);
    let data = centres.index_select(0, &index) + Tensor::randn([classes * per_class, width], (Kind::Float, Device::Cpu));
    InMemoryDataset::new(data, Labels::int(labels)).expect("matching lengths")
}

/// The first `train` training images and the first `test` test images of Fashion-MNIST.
pub fn fashion_mnist(train: usize, test: usize) -> (InMemoryDataset, InMemoryDataset) {
    let train_set = FashionMnist::load(Split::Train).expect("scripts/setup installs Fashion-MNIST").take(train);
    let test_set = FashionMnist::load(Split::Test).expect("scripts/setup installs Fashion-MNIST").take(test);
    (train_set, test_set)
}

/// Integer labels of an in-memory dataset.
pub fn int_labels(dataset: &InMemoryDataset) -> Vec<i64> {
    dataset.all_labels().int_column(0).expect("integer labels")
}

/// Every parameter of a model, copied.
pub fn snapshot(model: &Model) -> Vec<Tensor> {
    model.var_store().map(|vs| vs.trainable_variables().iter().map(Tensor::copy).collect()).unwrap_or_default()
}

/// Whether two snapshots are bitwise equal.
pub fn bitwise_equal(a: &[Tensor], b: &[Tensor]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.equal(y))
}


/// `in -> out` through a linear layer and a batch norm, whose running statistics move in train
/// mode only.
pub fn linear_batch_norm(input: i64, output: i64) -> Model {
    Model::build(Device::Cpu, |p| {
        nn::seq_t()
            .add(nn::linear(p / "fc", input, output, Default::default()))
            .add(nn::batch_norm1d(p / "bn", output, Default::default()))
    })
}

/// Every variable of a model, trained or not (batch norm's running statistics), copied in name order.
pub fn all_variables(model: &Model) -> Vec<Tensor> {
    let Some(vs) = model.var_store() else { return Vec::new() };
    let mut named: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    named.into_iter().map(|(_, t)| t.copy()).collect()
}
