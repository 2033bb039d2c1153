//! The loss wrappers, the packaged-triplets miner and the reducers that need something of the
//! loss: what they compute on tiny inputs, and the errors for what they cannot work with.

use metric_learning::prelude::*;
use metric_learning_tests::one_thread;

fn message<T>(result: metric_learning::Result<T>) -> String {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(error) => error.to_string(),
    }
}

fn points(rows: i64, width: i64) -> Tensor {
    Tensor::arange(rows * width, (Kind::Float, Device::Cpu)).reshape([rows, width]).sin()
}

fn values(t: &Tensor) -> Vec<i64> {
    Vec::<i64>::try_from(t).unwrap()
}

#[test]
fn packaged_triplets_are_consecutive_rows() {
    one_thread();
    let x = points(6, 3);
    let labels = Tensor::from_slice(&[0i64, 0, 1, 2, 2, 0]);
    let mut miner = EmbeddingsAlreadyPackagedAsTriplets::new();
    let Tuples::Triplets { a, p, n } = miner.mine(&x, &labels).unwrap() else { panic!("triplets") };
    assert_eq!((values(&a), values(&p), values(&n)), (vec![0, 3], vec![1, 4], vec![2, 5]));
    assert_eq!(miner.records(), vec![Record { name: "num_triplets", value: 2.0 }]);
    // The loss on them: mean of relu(d(a,p) - d(a,n) + margin) over the two triplets.
    let tuples = miner.mine(&x, &labels).unwrap();
    let ours = TripletMarginLoss::new().margin(0.5).reducer(MeanReducer).compute(&x, &labels, Some(&tuples)).unwrap().double_value(&[]);
    let e = &x / x.norm_scalaropt_dim(2, [1i64].as_slice(), true);
    let d = |i: i64, j: i64| (e.get(i) - e.get(j)).norm().double_value(&[]);
    let expected = ((d(0, 1) - d(0, 2) + 0.5).max(0.0) + (d(3, 4) - d(3, 5) + 0.5).max(0.0)) / 2.0;
    assert!((ours - expected).abs() < 1e-5, "{ours} vs {expected}");
    let text = message(miner.mine(&points(7, 3), &Tensor::zeros([7], (Kind::Int64, Device::Cpu))));
    assert!(text.contains("multiple of 3 rows, found 7"), "{text}");
}

#[test]
fn cross_batch_memory_refuses_what_it_cannot_queue() {
    one_thread();
    let labels = Tensor::from_slice(&[0i64, 1, 0, 1]);
    let mut small = CrossBatchMemory::new(ContrastiveLoss::new(), 3).unwrap().memory_size(3);
    let text = message(small.compute(&points(4, 3), &labels, None));
    assert!(text.contains("4 embeddings to enqueue, but the queue holds 3"), "{text}");
    let mut memory = CrossBatchMemory::new(ContrastiveLoss::new(), 3).unwrap().memory_size(8);
    let text = message(memory.compute(&points(4, 5), &labels, None));
    assert!(text.contains("width 5, but its embedding_size is 3"), "{text}");
    let text = message(memory.compute_with_mask(&points(4, 3), &labels, &Tensor::from_slice(&[true, false, true])));
    assert!(text.contains("booleans of shape [4]") && text.contains("[3]"), "{text}");
    let text = message(CrossBatchMemory::new(FastAPLoss::new(10), 3));
    assert!(text.contains("CrossBatchMemory: not supported for FastAPLoss"), "{text}");
}

#[test]
fn cross_batch_memory_queues_wraps_and_resets() {
    one_thread();
    let mut memory = CrossBatchMemory::new(ContrastiveLoss::new(), 3).unwrap().memory_size(6);
    let x = points(12, 3).set_requires_grad(true);
    let labels = Tensor::from_slice(&[0i64, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
    for call in 0..3 {
        let loss = memory.compute(&x.narrow(0, call * 4, 4), &labels.narrow(0, call * 4, 4), None).unwrap();
        loss.backward();
    }
    // 12 rows through a queue of 6 in batches of 4: slots 0..4, then 4, 5, 0, 1, then 2..6; it
    // holds rows 6..12, in order, and the next write starts at slot 0.
    let (queued, _) = memory.queue();
    assert_eq!(memory.queue_idx(), 0);
    assert!(queued.equal(&x.narrow(0, 6, 6).detach()), "{queued:?}");
    assert!(x.grad().abs().sum(Kind::Float).double_value(&[]) > 0.0);
    memory.reset_queue();
    assert_eq!((memory.queue_idx(), memory.queue().0.size()[0]), (0, 0));
}

#[test]
fn self_supervised_pairs_rows_by_position() {
    one_thread();
    let (x, y) = (points(4, 3), points(4, 3) + 0.01);
    let mut loss = SelfSupervisedLoss::new(ContrastiveLoss::new()).unwrap().symmetric(false);
    let ours = loss.compute(&x, &y).unwrap();
    let labels = Tensor::arange(4, (Kind::Int64, Device::Cpu));
    let direct = ContrastiveLoss::new().compute_with_reference(&x, &labels, None, Some(Reference { embeddings: &y, labels: &labels })).unwrap();
    assert!(ours.equal(&direct));
    let text = message(loss.compute(&x, &points(3, 3)));
    assert!(text.contains("one shape") && text.contains("[4, 3]") && text.contains("[3, 3]"), "{text}");
    let text = message(SelfSupervisedLoss::new(ArcFaceLoss::new(4, 3)));
    // ArcFaceLoss is a MarginSoftmaxLoss, and named so.
    assert!(text.contains("SelfSupervisedLoss: not supported for MarginSoftmaxLoss"), "{text}");
}

#[test]
fn reducers_say_what_the_loss_does_not_give() {
    one_thread();
    let x = points(6, 3);
    let labels = Tensor::from_slice(&[0i64, 1, 2, 0, 1, 2]);
    let text = message(ContrastiveLoss::new().reducer(DivisorReducer::new()).compute(&x, &labels, None));
    assert!(text.contains("DivisorReducer: the sub-loss `pos_loss` comes without a divisor"), "{text}");
    let text = message(TripletMarginLoss::new().reducer(PerAnchorReducer::new()).compute(&x, &labels, None));
    assert!(text.contains("PerAnchorReducer") && text.contains("triplet"), "{text}");
    let weights = Tensor::from_slice(&[1.0f32, 2.0]);
    let text = message(ContrastiveLoss::new().reducer(ClassWeightedReducer::new(&weights)).compute(&x, &labels, None));
    assert!(text.contains("2 class weights, so labels must lie in 0..2; found 0..=2"), "{text}");
    // MultipleReducers picks by name: SumReducer for the positives, the default for the rest.
    let both = ContrastiveLoss::new().reducer(MultipleReducers::new().reducer("pos_loss", SumReducer)).compute(&x, &labels, None).unwrap();
    let pos = ContrastiveLoss::new().neg_margin(-10.0).reducer(SumReducer).compute(&x, &labels, None).unwrap();
    let neg = ContrastiveLoss::new().pos_margin(10.0).reducer(MeanReducer).compute(&x, &labels, None).unwrap();
    assert!((both.double_value(&[]) - (pos + neg).double_value(&[])).abs() < 1e-6);
}

#[test]
fn multiple_losses_weigh_and_refuse_tuples_with_miners() {
    one_thread();
    let x = points(6, 3);
    let labels = Tensor::from_slice(&[0i64, 1, 2, 0, 1, 2]);
    let mut both = MultipleLosses::new().loss("triplet", 2.0, TripletMarginLoss::new()).loss("contrastive", 0.5, ContrastiveLoss::new());
    let total = both.compute(&x, &labels, None).unwrap().double_value(&[]);
    let triplet = TripletMarginLoss::new().compute(&x, &labels, None).unwrap().double_value(&[]);
    let contrastive = ContrastiveLoss::new().compute(&x, &labels, None).unwrap().double_value(&[]);
    assert!((total - (2.0 * triplet + 0.5 * contrastive)).abs() < 1e-6);
    let records = both.records();
    assert_eq!(records.iter().find(|r| r.name == "contrastive").map(|r| r.value as f32), Some(contrastive as f32));
    let mut mined = MultipleLosses::new().loss_with_miner("triplet", 1.0, TripletMarginLoss::new(), BatchHardMiner::new());
    let tuples = metric_learning::indices::all_pairs(&labels, None);
    let text = message(mined.compute(&x, &labels, Some(&tuples)));
    assert!(text.contains("tuples were given, but triplet mine their own"), "{text}");
}

#[test]
fn cross_batch_memory_state_round_trips_and_refuses_another_queue() {
    use metric_learning::component::Component;
    one_thread();
    let labels = Tensor::from_slice(&[0i64, 1, 0, 1]);
    let mut memory = CrossBatchMemory::new(ContrastiveLoss::new(), 3).unwrap().memory_size(6);
    let _ = memory.compute(&points(4, 3), &labels, None).unwrap();
    let mut restored = CrossBatchMemory::new(ContrastiveLoss::new(), 3).unwrap().memory_size(6);
    restored.load_state(memory.state()).unwrap();
    assert_eq!(restored.queue_idx(), 4);
    // The next batch wraps around the queue and meets the same entries in both.
    let next = points(4, 3) * 0.5 + 0.1;
    let (a, b) = (memory.compute(&next, &labels, None).unwrap(), restored.compute(&next, &labels, None).unwrap());
    assert_eq!(a.double_value(&[]), b.double_value(&[]));
    let mut smaller = CrossBatchMemory::new(ContrastiveLoss::new(), 3).unwrap().memory_size(5);
    let text = smaller.load_state(memory.state()).unwrap_err();
    assert!(text.contains("a queue of 5 embeddings of width 3 expected") && text.contains("[6, 3]"), "{text}");
    assert_eq!(smaller.queue_idx(), 0, "a refused state changes nothing");
    let text = ContrastiveLoss::new().load_state(memory.state()).unwrap_err();
    assert!(text.contains("holds its state `embedding_memory`, but it keeps none"), "{text}");
}
