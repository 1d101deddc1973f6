//! The ceiling: argon2id hashes per second with nothing else going on, using the server's
//! parameters and one thread per core (the server allows one hash per core at a time).

use std::{
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context as _, anyhow};
use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHasher as _, SaltString},
};
use serde_json::json;

use crate::{report, stats::round_to};

/// The server's parameters (OWASP's argon2id recommendation): 19 MiB, two passes, one lane.
const MEMORY_KIB: u32 = 19_456;
const TIME_COST: u32 = 2;
const PARALLELISM: u32 = 1;

/// As long as a typical password: the hash cost hardly depends on it, but stay realistic.
const PASSWORD: &[u8] = b"bench-correct-horse-Pw!";

pub fn run(seconds: u64) -> anyhow::Result<()> {
    let threads = thread::available_parallelism()
        .context("could not tell how many cores there are")?
        .get();
    let hasher = &hasher()?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let hashes = thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| scope.spawn(move || hash_until(hasher, deadline)))
            .collect();
        workers
            .into_iter()
            .map(|worker| match worker.join() {
                Ok(counted) => counted,
                Err(_) => Err(anyhow!("a hashing thread panicked")),
            })
            .sum::<anyhow::Result<u64>>()
    })?;
    // Until the last thread finished its last hash, which may end a little after the deadline.
    let elapsed = started.elapsed().as_secs_f64();
    let per_second = hashes as f64 / elapsed;

    report::emit(
        &[format!(
            "argon2 bare loop: {per_second:.1} hashes/s ({threads} threads, {elapsed:.1} s)"
        )],
        &json!({
            "name": "argon2",
            "threads": threads,
            "seconds": round_to(elapsed, 2),
            "hashes": hashes,
            "hashes_per_sec": round_to(per_second, 2),
        }),
    );
    Ok(())
}

/// The same hasher as the server's: argon2id, version 0x13, the parameters above.
fn hasher() -> anyhow::Result<Argon2<'static>> {
    // argon2's errors implement `std::error::Error` only with its `std` feature: go by Display.
    let params = Params::new(MEMORY_KIB, TIME_COST, PARALLELISM, None)
        .map_err(|e| anyhow!("invalid argon2 parameters: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes with a fresh random salt each time, as a registration does, until `deadline`.
fn hash_until(hasher: &Argon2<'_>, deadline: Instant) -> anyhow::Result<u64> {
    let mut count = 0;
    while Instant::now() < deadline {
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
            .map_err(|e| anyhow!("could not encode a salt: {e}"))?;
        let hash = hasher
            .hash_password(PASSWORD, &salt)
            .map_err(|e| anyhow!("hashing failed: {e}"))?;
        std::hint::black_box(hash);
        count += 1;
    }
    Ok(count)
}
