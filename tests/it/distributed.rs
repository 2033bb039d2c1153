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
    Command::new(WORKER)
        .args([scenario, &timeout_ms.to_string()])
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

#[test]
fn two_processes_reduce_broadcast_and_gather_each_others_tensors() {
    let port = free_port();
    let workers = (0..2).map(|rank| start("collectives", port, rank, 2, 20_000)).collect();
    for (rank, (code, output)) in finish(workers, Duration::from_secs(60)).into_iter().enumerate() {
        assert_eq!((code, output.as_str()), (0, "ok"), "rank {rank}");
    }
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
