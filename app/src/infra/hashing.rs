//! Password hashing with argon2id at OWASP's parameters (19 MiB, t=2, p=1).
//!
//! Hashing takes ~15 ms of one core and 19 MiB, so it runs on threads of its own (one per slot),
//! never on the async threads, with at most one hash per core at a time. A request that cannot
//! get a slot within `max_wait` gets 503 + `Retry-After` instead of joining an unbounded queue.
//!
//! Why not tokio's blocking pool: a burst there spreads the hashes over dozens of threads, and
//! glibc gives each thread its own malloc arena, which keeps the 19 MiB it last held. A flood
//! of 200 registrations left the process at ~900 MB resident; a fixed few threads keep it to
//! a few arenas.
//!
//! The hashing threads run at a lower scheduling priority than the rest of the server
//! ([`HASHING_NICENESS`]), so that a burst of hashes does not hold up the requests that hash
//! nothing.

use std::{
    panic::AssertUnwindSafe,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicUsize, Ordering},
        mpsc,
    },
    time::Duration,
};

use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _,
    Version,
    password_hash::{
        self, Decimal, Ident, Output, ParamsString, Salt, SaltString, rand_core::OsRng,
    },
};
use tokio::sync::Semaphore;

use super::metrics;
use crate::{domain::Password, error::ApiError};

/// Anything longer cannot be a password we stored (128 characters of UTF-8 at most).
const MAX_PASSWORD_BYTES: usize = 512;

#[derive(Clone, Debug)]
pub struct PasswordHasher {
    slots: Arc<Semaphore>,
    total: usize,
    /// Requests waiting for a slot now (the semaphore does not say).
    waiting: Arc<AtomicUsize>,
    max_wait: Duration,
    threads: Threads,
}

type Job = Box<dyn FnOnce() + Send>;

/// How much lower than the rest of the server the hashing threads run: this much added to
/// their niceness (at most 19).
///
/// Why: under a burst every hashing thread is busy (a hash is ~15 ms of a core), and at the
/// same priority the async threads take turns with them. On two cores the flood
/// (`bench/run.sh flood`) measured the async threads waiting ~0.5 s in the run queue over its
/// ~3 s, and `/healthz` answering in up to 65 ms at p99. Lower, the kernel runs the async
/// threads first when they have work, which is short, and hashing gets the rest, nearly all
/// of the machine under a burst. Hashes slow down only when something else keeps the cores
/// busy, and then the slot wait bounds the queue as before (503 + `Retry-After`).
/// 10 rather than 19: a nice-0 thread still outweighs a hashing thread ~10 to 1, without
/// starving sign-ins on a machine shared with other busy processes.
pub const HASHING_NICENESS: i32 = 10;

/// Lowers the calling thread's priority by [`HASHING_NICENESS`]. On Linux `setpriority` with a
/// thread id changes that thread only. Only ever lowered (raising it needs a privilege), so it
/// cannot fail for want of one; if it fails anyway, the thread hashes at the normal priority.
///
/// Through `rustix`, a safe wrapper over the system call: the workspace forbids unsafe code.
#[cfg(target_os = "linux")]
fn lower_this_threads_priority() {
    use rustix::{process, thread};
    let tid = thread::gettid();
    let lowered = process::getpriority_process(Some(tid)).and_then(|nice| {
        process::setpriority_process(Some(tid), (nice + HASHING_NICENESS).min(19))
    });
    if let Err(e) = lowered {
        tracing::warn!(error.cause = %e, "cannot lower a password hashing thread's priority");
    }
}

/// Elsewhere the threads hash at the normal priority.
#[cfg(not(target_os = "linux"))]
fn lower_this_threads_priority() {}

/// The hashing threads, one per slot, fed through a channel; they stop when the last
/// [`PasswordHasher`] clone is dropped.
#[derive(Clone)]
struct Threads(mpsc::Sender<Job>);

impl std::fmt::Debug for Threads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Threads")
    }
}

impl Threads {
    fn start(count: usize) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..count {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    lower_this_threads_priority();
                    loop {
                        // The lock is held only to take the next job, not while hashing.
                        let next = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = next else { return };
                        // A panicking job loses its answer (the caller gets a 500), not the thread.
                        let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error.cause = %e, "cannot start a password hashing thread");
            }
        }
        Self(jobs)
    }
}

/// How the hashing slots are used at one moment, for the metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotUsage {
    pub total: usize,
    pub in_use: usize,
    pub waiting: usize,
}

/// Counts a waiting request for as long as it lives, however its wait ends (a slot, the time
/// limit, or the client going away).
struct Waiting(Arc<AtomicUsize>);

impl Waiting {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count.clone())
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn argon2() -> KeptMemory {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP's argon2id parameters are valid");
    KeptMemory {
        algorithm: Algorithm::Argon2id,
        version: Version::V0x13,
        params,
    }
}

std::thread_local! {
    /// The argon2 working memory of this thread (19 MiB at OWASP's parameters), kept for the
    /// thread's life. A fresh 19 MiB per hash (what `Argon2::hash_password` does) is not given
    /// back by glibc: a hashing thread's heap grew by ~180 MB over a few dozen hashes, and a
    /// flood of registrations left the process at ~400 MB. Kept, it is one block per thread.
    static BLOCKS: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// argon2 as the `argon2` crate computes it (the same PHC strings, so stored hashes verify
/// either way), in the calling thread's kept working memory ([`BLOCKS`]).
struct KeptMemory {
    algorithm: Algorithm,
    version: Version,
    params: Params,
}

impl argon2::PasswordHasher for KeptMemory {
    type Params = Params;

    fn hash_password<'a>(
        &self,
        password: &[u8],
        salt: impl Into<Salt<'a>>,
    ) -> password_hash::Result<PasswordHash<'a>> {
        let salt = salt.into();
        let mut salt_arr = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_arr)?;
        let argon2 = Argon2::new(self.algorithm, self.version, self.params.clone());
        let output_len = self
            .params
            .output_len()
            .unwrap_or(Params::DEFAULT_OUTPUT_LEN);
        let output = Output::init_with(output_len, |out| {
            BLOCKS.with_borrow_mut(|blocks| {
                let needed = self.params.block_count();
                if blocks.len() < needed {
                    blocks.resize(needed, Block::default());
                }
                argon2.hash_password_into_with_memory(password, salt_bytes, out, &mut blocks[..])
            })?;
            Ok(())
        })?;
        Ok(PasswordHash {
            algorithm: self.algorithm.ident(),
            version: Some(self.version.into()),
            params: ParamsString::try_from(&self.params)?,
            salt: Some(salt),
            hash: Some(output),
        })
    }

    fn hash_password_customized<'a>(
        &self,
        password: &[u8],
        alg_id: Option<Ident<'a>>,
        version: Option<Decimal>,
        params: Params,
        salt: impl Into<Salt<'a>>,
    ) -> password_hash::Result<PasswordHash<'a>> {
        KeptMemory {
            algorithm: alg_id
                .map(Algorithm::try_from)
                .transpose()?
                .unwrap_or_default(),
            version: version
                .map(Version::try_from)
                .transpose()?
                .unwrap_or_default(),
            params,
        }
        .hash_password(password, salt)
    }
}

/// A hash of a password nobody has, verified when the account does not exist so that an
/// unknown email costs the same time as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(b"no account has this password", &salt)
            .expect("hashing a constant cannot fail")
            .to_string()
    })
}

impl PasswordHasher {
    /// `slots`: hashes at once (the number of cores); `max_wait`: the longest a request waits
    /// for a slot before it is turned away.
    pub fn new(slots: usize, max_wait: Duration) -> Self {
        let total = slots.max(1);
        Self {
            slots: Arc::new(Semaphore::new(total)),
            total,
            waiting: Arc::new(AtomicUsize::new(0)),
            max_wait,
            threads: Threads::start(slots.max(1)),
        }
    }

    /// Slots in use and requests waiting for one, right now.
    pub fn usage(&self) -> SlotUsage {
        SlotUsage {
            total: self.total,
            in_use: self.total.saturating_sub(self.slots.available_permits()),
            waiting: self.waiting.load(Ordering::Relaxed),
        }
    }

    /// Computes the dummy hash now, so the first unknown-email request is not the slow one.
    pub fn warm_up() {
        let _ = dummy_hash();
    }

    pub async fn hash(&self, password: &Password) -> Result<String, ApiError> {
        let password = password.expose().to_owned();
        self.run("hash", move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2()
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|e| e.to_string())
        })
        .await
    }

    /// Whether `password` matches `stored`; with no stored hash (unknown account) it spends the
    /// same time on a dummy and answers `false`.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool, ApiError> {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| dummy_hash()).to_owned();
        let password = if password.len() > MAX_PASSWORD_BYTES {
            String::new()
        } else {
            password.to_owned()
        };
        let matches = self
            .run("verify", move || {
                let parsed = PasswordHash::new(&stored).map_err(|e| e.to_string())?;
                Ok(argon2()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok())
            })
            .await?;
        Ok(known && matches)
    }

    /// `operation` names the work in the metrics.
    async fn run<T: Send + 'static>(
        &self,
        operation: &'static str,
        work: impl FnOnce() -> Result<T, String> + Send + 'static,
    ) -> Result<T, ApiError> {
        let waiting = Waiting::new(&self.waiting);
        let acquired =
            tokio::time::timeout(self.max_wait, self.slots.clone().acquire_owned()).await;
        drop(waiting);
        let permit = match acquired {
            Ok(Ok(permit)) => permit,
            Ok(Err(_closed)) => return Err(ApiError::internal("password hashing slots closed")),
            Err(_elapsed) => {
                tracing::warn!(
                    wait.ms = self.max_wait.as_millis() as u64,
                    "password hashing is saturated; answering 503"
                );
                metrics::hash_refused();
                return Err(ApiError::unavailable(1));
            }
        };
        // The permit moves into the job: if the client goes away, the slot stays taken until
        // the hash really finishes. Holding a permit, a job finds a thread free.
        let (done, answer) = tokio::sync::oneshot::channel();
        self.threads
            .0
            .send(Box::new(move || {
                let result = work();
                // Freed before the answer goes out: whoever reads the answer sees the slot free.
                drop(permit);
                let _ = done.send(result);
            }))
            .map_err(|_| ApiError::internal("the password hashing threads stopped"))?;
        let result = answer.await;
        metrics::hash_computed(operation);
        result
            .map_err(|_| ApiError::internal("a password hash panicked"))?
            .map_err(ApiError::internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(raw: &str) -> Password {
        Password::parse(raw).expect("a valid password")
    }

    #[test]
    fn kept_memory_hashes_are_the_argon2_crates_own() {
        let plain = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(19 * 1024, 2, 1, None).expect("params"),
        );
        let salt = SaltString::generate(&mut OsRng);
        let ours = argon2()
            .hash_password(b"correct horse", &salt)
            .expect("hash")
            .to_string();
        let theirs = plain
            .hash_password(b"correct horse", &salt)
            .expect("hash")
            .to_string();
        assert_eq!(ours, theirs, "the same PHC string for the same salt");
        // Stored hashes verify either way, and a wrong password does not.
        let stored = PasswordHash::new(&theirs).expect("parse");
        assert!(argon2().verify_password(b"correct horse", &stored).is_ok());
        assert!(argon2().verify_password(b"correct horsf", &stored).is_err());
        // Other parameters (an older hash) get memory of their size.
        let small = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).expect("params"),
        )
        .hash_password(b"pw", &salt)
        .expect("hash")
        .to_string();
        let small = PasswordHash::new(&small).expect("parse");
        assert!(argon2().verify_password(b"pw", &small).is_ok());
    }

    #[tokio::test]
    async fn hashes_run_on_the_few_hashing_threads_only() {
        let hasher = PasswordHasher::new(2, Duration::from_secs(5));
        let mut names = std::collections::BTreeSet::new();
        for _ in 0..20 {
            let name = hasher
                .run("hash", || {
                    Ok(std::thread::current().name().map(str::to_owned))
                })
                .await
                .expect("a thread ran it");
            names.insert(name.unwrap_or_default());
        }
        assert!(
            names.iter().all(|n| n.starts_with("argon2-")) && names.len() <= 2,
            "{names:?}"
        );
    }

    /// This thread's niceness, field 19 of `/proc/thread-self/stat` (the name, field 2, is in
    /// parentheses and may hold spaces).
    #[cfg(target_os = "linux")]
    fn niceness_of_this_thread() -> i32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("/proc is there");
        let after_name = &stat[stat.rfind(')').expect("a (name)") + 1..];
        after_name
            .split_whitespace()
            .nth(19 - 3)
            .expect("at least 19 fields")
            .parse()
            .expect("a number")
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_run_at_a_lower_priority() {
        // The hashing threads start from this thread's niceness.
        let ours = niceness_of_this_thread();
        let expected = (ours + HASHING_NICENESS).min(19);
        assert!(expected > ours || ours == 19);
        let hasher = PasswordHasher::new(2, Duration::from_secs(5));
        for _ in 0..10 {
            let theirs = hasher
                .run("hash", || Ok(niceness_of_this_thread()))
                .await
                .expect("a thread ran it");
            assert_eq!(theirs, expected, "ours: {ours}");
        }
        assert_eq!(niceness_of_this_thread(), ours, "the caller's is untouched");
    }

    #[tokio::test]
    async fn hashes_with_owasp_parameters_and_verifies() {
        let hasher = PasswordHasher::new(2, Duration::from_secs(5));
        let hash = hasher
            .hash(&password("correct horse battery"))
            .await
            .expect("hash");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            hasher
                .verify("correct horse battery", Some(&hash))
                .await
                .expect("verify")
        );
        assert!(
            !hasher
                .verify("correct horse batterY", Some(&hash))
                .await
                .expect("verify")
        );
        assert!(
            !hasher
                .verify("correct horse battery", None)
                .await
                .expect("verify")
        );
        assert!(
            !hasher
                .verify(&"x".repeat(10_000), Some(&hash))
                .await
                .expect("verify")
        );
    }

    #[tokio::test]
    async fn a_saturated_hasher_answers_503_instead_of_queueing() {
        let hasher = PasswordHasher::new(1, Duration::from_millis(1));
        let held = hasher.slots.clone().acquire_owned().await.expect("slot");
        let err = hasher
            .hash(&password("correct horse battery"))
            .await
            .expect_err("busy");
        assert_eq!(err.status(), 503);
        assert_eq!(err.retry_after, Some(1));
        assert_eq!(
            hasher.usage(),
            SlotUsage {
                total: 1,
                in_use: 1,
                waiting: 0
            }
        );
        drop(held);
        assert_eq!(hasher.usage().in_use, 0);
    }

    #[tokio::test]
    async fn a_request_waiting_for_a_slot_is_counted_until_it_gets_one() {
        // The waiter must still be waiting when the slot is let go, however slow the machine:
        // its wait far outlasts the test's own guard below.
        let hasher = PasswordHasher::new(1, Duration::from_secs(600));
        let held = hasher.slots.clone().acquire_owned().await.expect("slot");
        let waiter = tokio::spawn({
            let hasher = hasher.clone();
            async move { hasher.hash(&password("correct horse battery")).await }
        });
        // Only stops a hang: the waiter starts waiting at its first poll.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while hasher.usage().waiting != 1 {
            assert!(tokio::time::Instant::now() < deadline, "never waited");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(held);
        waiter.await.expect("joined").expect("hashed");
        assert_eq!(hasher.usage().waiting, 0);
        assert_eq!(hasher.usage().in_use, 0);
    }
}
