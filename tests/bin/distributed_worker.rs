//! One process of the distributed tests (`it/distributed.rs` starts several, with torchrun's
//! variables): `distributed-worker SCENARIO TIMEOUT_MS`. Prints `ok` and exits 0 when the
//! scenario's results are right; prints `error: ...` and exits 1 on any error.

use metric_learning::distributed::{ProcessGroup, BUCKET_BYTES};
use metric_learning::tch::{Device, Kind, Tensor};
use metric_learning::{Error, Result};
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let scenario = args.get(1).map(String::as_str).unwrap_or("");
    let timeout = Duration::from_millis(args.get(2).and_then(|t| t.parse().ok()).unwrap_or(10_000));
    let outcome = ProcessGroup::from_env(timeout).and_then(|mut group| match scenario {
        "collectives" => collectives(&mut group),
        // Rank 1 leaves right after connecting; rank 0's collective must fail, not hang.
        "peer-dies" if group.rank() == 1 => std::process::exit(0),
        "peer-dies" => group.all_reduce_sum(&mut Tensor::ones([4], (Kind::Float, Device::Cpu))),
        "connect" => group.barrier(),
        other => panic!("unknown scenario {other:?}"),
    });
    match outcome {
        Ok(()) => println!("ok"),
        Err(e) => {
            println!("error: {e}");
            std::process::exit(1);
        }
    }
}

fn same(found: &Tensor, expected: &Tensor, what: &str) -> Result<()> {
    if found.size() == expected.size() && found.allclose(expected, 1e-6, 1e-6, false) {
        return Ok(());
    }
    Err(Error::Data(format!("{what}: found {:?}, expected {:?}", Vec::<f64>::try_from(found.to_kind(Kind::Double).flatten(0, -1)), Vec::<f64>::try_from(expected.to_kind(Kind::Double).flatten(0, -1)))))
}

/// Every collective, with values that differ by rank so that a wrong rank's data shows.
fn collectives(group: &mut ProcessGroup) -> Result<()> {
    let (rank, world) = (group.rank() as f64, group.world_size() as i64);
    let cpu = (Kind::Float, Device::Cpu);
    // Sum of 1..=world, and of each rank's arange shifted by its rank.
    let mut sum = Tensor::arange(6, cpu) + rank;
    group.all_reduce_sum(&mut sum)?;
    same(&sum, &(Tensor::arange(6, cpu) * world as f64 + (world * (world - 1) / 2) as f64), "all_reduce_sum")?;
    // Rank 1's values everywhere.
    let mut broadcast = Tensor::full([2, 3], rank, cpu);
    group.broadcast(&mut broadcast, 1)?;
    same(&broadcast, &Tensor::full([2, 3], 1.0, cpu), "broadcast")?;
    // Rows in rank order.
    let gathered = group.all_gather(&Tensor::full([2, 2], rank, cpu))?;
    let expected = Tensor::arange(world, cpu).repeat_interleave_self_int(4, None, None).view([world * 2, 2]);
    same(&gathered, &expected, "all_gather")?;
    // Means of tensors of two kinds, in buckets small enough to split them (and in one).
    for bytes in [16, BUCKET_BYTES] {
        let tensors = [Tensor::full([3], rank, cpu), Tensor::full([2, 2], 2.0 * rank, (Kind::Double, Device::Cpu)), Tensor::full([5], -rank, cpu)];
        group.all_reduce_mean(&tensors, bytes)?;
        let mean = (world - 1) as f64 / 2.0;
        same(&tensors[0], &Tensor::full([3], mean, cpu), "all_reduce_mean")?;
        same(&tensors[1], &Tensor::full([2, 2], 2.0 * mean, (Kind::Double, Device::Cpu)), "all_reduce_mean (f64)")?;
        same(&tensors[2], &Tensor::full([5], -mean, cpu), "all_reduce_mean")?;
    }
    group.barrier()
}
