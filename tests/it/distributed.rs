//! c10d across real processes on 127.0.0.1: the collectives' results, and the failures a run
//! must report rather than hang on (a rank that never arrives, a port in use, a rank claimed
//! twice, a peer that dies). Each worker is `distributed-worker` (tests/bin), started with
//! torchrun's variables.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WORKER: &str = env!("CARGO_BIN_EXE_distributed-worker");

/// A port nothing listens on now (the OS's choice, released at once).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port on 127.0.0.1")
}

fn start(scenario: &str, port: u16, rank: usize, world_size: usize, timeout_ms: u64) -> Child {
    start_in(scenario, port, rank, world_size, timeout_ms, None)
}

fn start_in(scenario: &str, port: u16, rank: usize, world_size: usize, timeout_ms: u64, folder: Option<&std::path::Path>) -> Child {
    Command::new(WORKER)
        .args([scenario, &timeout_ms.to_string()])
        .args(folder)
        .env("MASTER_ADDR", "127.0.0.1")
        .env("MASTER_PORT", port.to_string())
        .env("RANK", rank.to_string())
        .env("WORLD_SIZE", world_size.to_string())
        .env("OMP_NUM_THREADS", "1")
        // c10d warns with a C++ backtrace for every broken connection these tests provoke.
        .env("TORCH_CPP_LOG_LEVEL", "ERROR")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the worker starts")
}

/// Each worker's exit code and output, failing the test if any outlives `limit` (a hang).
fn finish(workers: Vec<Child>, limit: Duration) -> Vec<(i32, String)> {
    let started = Instant::now();
    let mut workers: Vec<Option<Child>> = workers.into_iter().map(Some).collect();
    let mut results = vec![None; workers.len()];
    while results.iter().any(Option::is_none) {
        for (slot, result) in workers.iter_mut().zip(results.iter_mut()) {
            if let Some(child) = slot {
                if child.try_wait().expect("waiting on a worker").is_some() {
                    let output = slot.take().unwrap().wait_with_output().expect("a worker's output");
                    *result = Some((output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stdout).trim().to_string()));
                }
            }
        }
        if started.elapsed() > limit {
            for child in workers.iter_mut().flatten() {
                let _ = child.kill();
            }
            panic!("a worker still runs after {limit:?}: a hang, not an error");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    results.into_iter().map(Option::unwrap).collect()
}

/// Runs `scenario` on two ranks; both must check their results and say `ok`.
fn both_ranks_pass(scenario: &str) {
    let port = free_port();
    let workers = (0..2).map(|rank| start(scenario, port, rank, 2, 20_000)).collect();
    for (rank, (code, output)) in finish(workers, Duration::from_secs(60)).into_iter().enumerate() {
        assert_eq!((code, output.as_str()), (0, "ok"), "rank {rank}");
    }
}

#[test]
fn two_processes_reduce_broadcast_and_gather_each_others_tensors() {
    both_ranks_pass("collectives");
}

#[test]
fn the_wrappers_give_a_loss_the_global_batch_or_this_ranks_queries_against_it() {
    both_ranks_pass("wrappers");
}

#[test]
fn a_rank_that_never_arrives_is_named_after_the_timeout() {
    let results = finish(vec![start("connect", free_port(), 0, 2, 1_500)], Duration::from_secs(30));
    let (code, output) = &results[0];
    assert_eq!(*code, 1, "{output}");
    assert!(output.contains("rank 0: rank 1 of 2 never arrived within 1.5s"), "{output}");
}

#[test]
fn a_port_in_use_is_an_error_naming_it() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let results = finish(vec![start("connect", port, 0, 1, 2_000)], Duration::from_secs(30));
    let (code, output) = &results[0];
    assert_eq!(*code, 1, "{output}");
    assert!(output.contains(&format!("rank 0 cannot serve the store on 127.0.0.1:{port}")), "{output}");
}

#[test]
fn two_processes_claiming_one_rank_are_refused() {
    let port = free_port();
    let mut workers = vec![start("connect", port, 0, 3, 3_000)];
    // The second rank 1 starts once the first has announced itself.
    workers.push(start("connect", port, 1, 3, 3_000));
    std::thread::sleep(Duration::from_millis(500));
    workers.push(start("connect", port, 1, 3, 3_000));
    let results = finish(workers, Duration::from_secs(30));
    assert!(results.iter().all(|(code, _)| *code == 1), "{results:?}");
    assert!(results.iter().any(|(_, output)| output.contains("two processes claim rank 1")), "{results:?}");
}

#[test]
fn a_peer_that_dies_fails_the_collective_instead_of_hanging() {
    let port = free_port();
    let workers = (0..2).map(|rank| start("peer-dies", port, rank, 2, 5_000)).collect();
    let results = finish(workers, Duration::from_secs(30));
    assert_eq!(results[1], (0, String::new()), "rank 1 leaves at once");
    let (code, output) = &results[0];
    assert_eq!(*code, 1, "{output}");
    assert!(output.contains("rank 0 of 2: all_reduce_sum (a peer that stopped, or a timeout)"), "{output}");
}

/// The numbers after `prefix ` on the line of `output` that starts with it.
fn numbers(output: &str, prefix: &str) -> Vec<f64> {
    let line = output.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no `{prefix}` line in {output}"));
    line[prefix.len()..].split_whitespace().map(|v| v.parse().expect("a number")).collect()
}

fn close(found: &[f64], expected: &[f64], what: &str) {
    assert_eq!(found.len(), expected.len(), "{what}: lengths");
    for (i, (f, e)) in found.iter().zip(expected).enumerate() {
        assert!((f - e).abs() <= 1e-5 * e.abs().max(1e-3), "{what}[{i}]: {f} against {e} alone");
    }
}

#[test]
fn two_processes_with_half_a_batch_each_train_as_one_with_the_whole_batch() {
    let alone = finish(vec![start("train-alone", free_port(), 0, 1, 20_000)], Duration::from_secs(120));
    let (code, alone) = &alone[0];
    assert_eq!(*code, 0, "{alone}");
    let port = free_port();
    let workers = (0..2).map(|rank| start("train", port, rank, 2, 20_000)).collect();
    let results = finish(workers, Duration::from_secs(120));
    assert!(results.iter().all(|(code, _)| *code == 0), "{results:?}");
    // Rank 0 ran the hooks (the losses), both hold the parameters.
    close(&numbers(&results[0].1, "losses"), &numbers(alone, "losses"), "losses");
    let expected = numbers(alone, "params");
    for (rank, (_, output)) in results.iter().enumerate() {
        close(&numbers(output, "params"), &expected, &format!("rank {rank}'s parameters"));
    }
    assert!(numbers(&results[1].1, "losses").is_empty(), "only rank 0 runs hooks: {}", results[1].1);

    // Without the wrappers each rank's loss sees its half only: the comparison above can fail.
    let port = free_port();
    let workers = (0..2).map(|rank| start("train-unwrapped", port, rank, 2, 20_000)).collect();
    let results = finish(workers, Duration::from_secs(120));
    assert!(results.iter().all(|(code, _)| *code == 0), "{results:?}");
    let unwrapped = numbers(&results[0].1, "params");
    assert_eq!(unwrapped, numbers(&results[1].1, "params"), "averaged gradients keep the ranks alike");
    let largest = unwrapped.iter().zip(&expected).map(|(u, e)| (u - e).abs()).fold(0.0, f64::max);
    assert!(largest > 1e-3, "unwrapped, the parameters differ from one process's by {largest}");
}

#[test]
fn a_peer_that_dies_in_training_is_an_error_on_the_other() {
    let port = free_port();
    let workers = (0..2).map(|rank| start("train-peer-dies", port, rank, 2, 5_000)).collect();
    let results = finish(workers, Duration::from_secs(60));
    assert_eq!(results[1].0, 0, "rank 1 leaves: {:?}", results[1]);
    let (code, output) = &results[0];
    assert_eq!(*code, 1, "{output}");
    assert!(output.contains("distributed: rank 0 of 2:"), "{output}");
    assert!(output.contains("epoch 1"), "the error says where training stopped: {output}");
}

#[test]
fn a_checkpoint_two_processes_wrote_resumes_on_one() {
    let folder = std::env::temp_dir().join(format!("metric-learning-distributed-resume-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    let port = free_port();
    let workers = (0..2).map(|rank| start_in("train-first-epoch", port, rank, 2, 20_000, Some(&folder))).collect();
    let results = finish(workers, Duration::from_secs(120));
    assert!(results.iter().all(|(code, _)| *code == 0), "{results:?}");
    let written = std::fs::read_dir(folder.join("checkpoints")).map(|d| d.count()).unwrap_or(0);
    assert!(written >= 1, "rank 0 wrote the epoch's checkpoint");
    let resumed = finish(vec![start_in("train-alone-resumed", free_port(), 0, 1, 20_000, Some(&folder))], Duration::from_secs(120));
    let alone = finish(vec![start("train-alone", free_port(), 0, 1, 20_000)], Duration::from_secs(120));
    let _ = std::fs::remove_dir_all(&folder);
    assert_eq!(resumed[0].0, 0, "{}", resumed[0].1);
    close(&numbers(&resumed[0].1, "params"), &numbers(&alone[0].1, "params"), "parameters after the resume");
}
