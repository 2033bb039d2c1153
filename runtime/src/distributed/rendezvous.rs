//! Where the processes of a run meet, and who each one is: read from the variables torchrun
//! sets, so that torchrun (or `scripts/launch`) can start this crate's binaries.

use crate::{Error, Result};

/// One process's place in a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendezvous {
    /// The address rank 0 serves the store on (`MASTER_ADDR`).
    pub master_addr: String,
    /// Its port (`MASTER_PORT`).
    pub master_port: u16,
    /// This process's rank, `0..world_size` (`RANK`).
    pub rank: usize,
    /// How many processes the run has (`WORLD_SIZE`).
    pub world_size: usize,
    /// This process's rank on its machine (`LOCAL_RANK`; the rank when unset), which picks its
    /// GPU.
    pub local_rank: usize,
}

impl Rendezvous {
    /// From `MASTER_ADDR`, `MASTER_PORT`, `RANK`, `WORLD_SIZE` and `LOCAL_RANK`.
    ///
    /// # Errors
    /// When one of the first four is unset or not a number, or the rank is not below the world
    /// size.
    pub fn from_env() -> Result<Rendezvous> {
        Rendezvous::from_lookup(|name| std::env::var(name).ok())
    }

    /// As [`Rendezvous::from_env`], reading the variables through `lookup`.
    ///
    /// # Errors
    /// As [`Rendezvous::from_env`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Rendezvous> {
        let required = |name: &str| {
            lookup(name).ok_or_else(|| {
                Error::Distributed(format!("{name} is not set; a distributed run needs MASTER_ADDR, MASTER_PORT, RANK and WORLD_SIZE (torchrun and scripts/launch set them)"))
            })
        };
        let number = |name: &str, value: String| {
            value.trim().parse::<usize>().map_err(|_| Error::Distributed(format!("{name} must be a non-negative whole number, found {value:?}")))
        };
        let master_addr = required("MASTER_ADDR")?;
        let port = required("MASTER_PORT")?;
        let master_port = port.trim().parse::<u16>().ok().filter(|&p| p > 0).ok_or_else(|| Error::Distributed(format!("MASTER_PORT must be a port number in 1..=65535, found {port:?}")))?;
        let rank = number("RANK", required("RANK")?)?;
        let world_size = number("WORLD_SIZE", required("WORLD_SIZE")?)?;
        let local_rank = match lookup("LOCAL_RANK") {
            Some(value) => number("LOCAL_RANK", value)?,
            None => rank,
        };
        Rendezvous::new(master_addr, master_port, rank, world_size).map(|r| Rendezvous { local_rank, ..r })
    }

    /// A rendezvous given in full; the local rank is the rank.
    ///
    /// # Errors
    /// When the world is empty or the rank not below its size.
    pub fn new(master_addr: impl Into<String>, master_port: u16, rank: usize, world_size: usize) -> Result<Rendezvous> {
        if world_size == 0 {
            return Err(Error::Distributed("WORLD_SIZE must be at least 1, found 0".into()));
        }
        if rank >= world_size {
            return Err(Error::Distributed(format!("RANK must lie in 0..{world_size} (WORLD_SIZE is {world_size}), found {rank}")));
        }
        Ok(Rendezvous { master_addr: master_addr.into(), master_port, rank, world_size, local_rank: rank })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<Rendezvous> {
        Rendezvous::from_lookup(|name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn reads_torchruns_variables_and_refuses_what_cannot_work() {
        let full = [("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", "29500"), ("RANK", "1"), ("WORLD_SIZE", "2"), ("LOCAL_RANK", "0")];
        let r = from(&full).unwrap();
        assert_eq!((r.master_addr.as_str(), r.master_port, r.rank, r.world_size, r.local_rank), ("127.0.0.1", 29500, 1, 2, 0));
        let message = |pairs: &[(&str, &str)]| from(pairs).unwrap_err().to_string();
        assert!(message(&full[1..]).contains("MASTER_ADDR is not set"));
        assert!(message(&[full[0], ("MASTER_PORT", "http"), full[2], full[3]]).contains("MASTER_PORT must be a port number in 1..=65535, found \"http\""));
        assert!(message(&[full[0], full[1], ("RANK", "2"), full[3]]).contains("RANK must lie in 0..2 (WORLD_SIZE is 2), found 2"));
        assert!(message(&[full[0], full[1], full[2], ("WORLD_SIZE", "-1")]).contains("WORLD_SIZE must be a non-negative whole number, found \"-1\""));
    }
}
