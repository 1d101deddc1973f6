//! The connection arithmetic, checked when a process connects (to serve, or for `migrate` and
//! the other subcommands): every process's pool must fit Postgres's `max_connections` less its
//! reserved slots. A pool that cannot fit even alone stops start-up; one that does not fit beside
//! the connections open now is a warning with the numbers.
//!
//! A process opens at most `DATABASE_MAX_CONNECTIONS`: the workers' `LISTEN` connections (mail,
//! password resets, webhooks) are taken from the pool and held (sqlx's
//! `PgListener::connect_with`), not opened beside it, so they count inside that number.
//!
//! The arithmetic is here, not in `app::infra`, because what it judges is this process (its
//! pool, what it has open) and refusing to start is the process's decision; the infrastructure
//! only reads Postgres (`app::infra::connections`).

use app::infra::connections::{self, PostgresConnections};
use sqlx::PgPool;

/// The numbers of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arithmetic {
    pub max_connections: u32,
    /// `superuser_reserved_connections` + `reserved_connections`: slots an ordinary role never
    /// gets (the app's role should not be a superuser).
    pub reserved: u32,
    /// `max_connections − reserved`: what every process of the app shares.
    pub available: u32,
    /// Client connections open now that are not this process's.
    pub others: u32,
    /// This process's pool (`DATABASE_MAX_CONNECTIONS`).
    pub pool: u32,
    pub verdict: Verdict,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The pool fits beside what is open now, with room for `more` processes of its size.
    Fits { more: u32 },
    /// The pool fits alone, but not beside what is open now; `in_all` processes of its size
    /// fit on a Postgres with nothing else open.
    Crowded { in_all: u32 },
    /// The pool alone is more than Postgres takes.
    TooBig,
}

/// Judges a pool of `pool` connections against `postgres`, of whose open connections `ours`
/// are this process's (the one asking included).
pub fn judge(postgres: &PostgresConnections, pool: u32, ours: u32) -> Arithmetic {
    let count = |n: i64| u32::try_from(n.max(0)).unwrap_or(u32::MAX);
    let max_connections = count(postgres.max_connections.into());
    let reserved =
        count(postgres.superuser_reserved.into()).saturating_add(count(postgres.reserved.into()));
    let available = max_connections.saturating_sub(reserved);
    let others = count(postgres.open).saturating_sub(ours);
    let pool = pool.max(1);
    let verdict = if pool > available {
        Verdict::TooBig
    } else if others.saturating_add(pool) > available {
        Verdict::Crowded {
            in_all: available / pool,
        }
    } else {
        Verdict::Fits {
            more: (available - others - pool) / pool,
        }
    };
    Arithmetic {
        max_connections,
        reserved,
        available,
        others,
        pool,
        verdict,
    }
}

impl Arithmetic {
    /// `max_connections 200 − 3 reserved = 197`: where the limit comes from.
    fn limit(&self) -> String {
        format!(
            "max_connections {} − {} reserved = {}",
            self.max_connections, self.reserved, self.available
        )
    }

    /// What an operator reads: the verdict with its numbers.
    pub fn message(&self) -> String {
        let (pool, others, available) = (self.pool, self.others, self.available);
        match self.verdict {
            Verdict::TooBig => format!(
                "DATABASE_MAX_CONNECTIONS is {pool}, more than Postgres accepts from the app's \
                 role ({}): lower it so that replicas × DATABASE_MAX_CONNECTIONS fits in \
                 {available}, or raise max_connections",
                self.limit()
            ),
            Verdict::Crowded { in_all } => format!(
                "Postgres may run out of connections: {others} open now by others + this pool \
                 of {pool} = {} > {} ({}); no more processes of this size fit, {in_all} in all \
                 on a Postgres with nothing else open: lower DATABASE_MAX_CONNECTIONS, run \
                 fewer replicas or raise max_connections",
                others + pool,
                available,
                self.limit()
            ),
            Verdict::Fits { more } => format!(
                "connections: this pool of {pool} + {others} open now by others fits in \
                 {available} ({}): room for {more} more processes of this size (pools open \
                 their connections as they need them: count every replica's whole pool)",
                self.limit()
            ),
        }
    }
}

/// Reads Postgres's limits through `pool` and judges a pool of `pool_size`: `Err` (start-up
/// stops) when it cannot fit even alone, a warning when not beside what is open now. A
/// Postgres that does not say (an error) is not checked: the check never stops a start-up
/// that would otherwise work.
pub async fn check(pool: &PgPool, pool_size: u32) -> anyhow::Result<()> {
    let postgres = match connections::read(pool).await {
        Ok(postgres) => postgres,
        Err(e) => {
            warn(&format!(
                "could not read Postgres's connection limits, so the pool was not checked against \
                 them: {e}"
            ));
            return Ok(());
        }
    };
    let sums = judge(&postgres, pool_size, pool.size());
    match sums.verdict {
        Verdict::TooBig => anyhow::bail!(sums.message()),
        Verdict::Crowded { .. } => warn(&sums.message()),
        Verdict::Fits { .. } => tracing::info!(
            db.max_connections = sums.max_connections,
            db.reserved = sums.reserved,
            db.open_by_others = sums.others,
            db.pool = sums.pool,
            "{}",
            sums.message()
        ),
    }
    Ok(())
}

/// A warning in the log when there is one (the server), else on standard error (the
/// subcommands, whose standard output is their answer).
fn warn(message: &str) {
    if tracing::dispatcher::has_been_set() {
        tracing::warn!("{message}");
    } else {
        eprintln!("warning: {message}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn postgres(
        max_connections: i32,
        superuser: i32,
        reserved: i32,
        open: i64,
    ) -> PostgresConnections {
        PostgresConnections {
            max_connections,
            superuser_reserved: superuser,
            reserved,
            open,
        }
    }

    #[test]
    fn pools_are_judged_against_max_connections_less_the_reserved_slots() {
        // (Postgres, pool, this process's open connections) → (available, others, verdict)
        for (case, pg, pool, ours, available, others, verdict) in [
            (
                "defaults: Postgres's 100, one process of 10 asking",
                postgres(100, 3, 0, 1),
                10,
                1,
                97,
                0,
                Verdict::Fits { more: 8 },
            ),
            (
                "room for exactly the pool",
                postgres(100, 3, 0, 88),
                9,
                1,
                97,
                87,
                Verdict::Fits { more: 0 },
            ),
            (
                "PostgreSQL 16's reserved_connections count too",
                postgres(100, 3, 7, 1),
                10,
                1,
                90,
                0,
                Verdict::Fits { more: 8 },
            ),
            (
                "one connection short beside the others",
                postgres(100, 3, 0, 89),
                10,
                1,
                97,
                88,
                Verdict::Crowded { in_all: 9 },
            ),
            (
                "a pool of every slot, with anyone else connected",
                postgres(200, 3, 0, 2),
                197,
                1,
                197,
                1,
                Verdict::Crowded { in_all: 1 },
            ),
            (
                "a pool of every slot, alone",
                postgres(200, 3, 0, 1),
                197,
                1,
                197,
                0,
                Verdict::Fits { more: 0 },
            ),
            (
                "a pool bigger than Postgres",
                postgres(200, 3, 0, 1),
                10_000,
                1,
                197,
                0,
                Verdict::TooBig,
            ),
            (
                "one over what an ordinary role gets",
                postgres(100, 3, 0, 1),
                98,
                1,
                97,
                0,
                Verdict::TooBig,
            ),
            (
                "reserved slots above max_connections leave nothing",
                postgres(3, 3, 2, 0),
                1,
                0,
                0,
                0,
                Verdict::TooBig,
            ),
            (
                "a count taken before ours were counted does not go below zero",
                postgres(100, 3, 0, 1),
                10,
                3,
                97,
                0,
                Verdict::Fits { more: 8 },
            ),
        ] {
            let sums = judge(&pg, pool, ours);
            assert_eq!(
                (sums.available, sums.others, sums.verdict),
                (available, others, verdict),
                "{case}"
            );
        }
    }

    #[test]
    fn messages_carry_the_numbers() {
        let too_big = judge(&postgres(200, 3, 0, 1), 10_000, 1).message();
        assert!(
            too_big.starts_with("DATABASE_MAX_CONNECTIONS is 10000, more than Postgres accepts")
                && too_big.contains("max_connections 200 − 3 reserved = 197"),
            "{too_big}"
        );
        let crowded = judge(&postgres(100, 3, 0, 89), 10, 1).message();
        assert!(
            crowded.contains("88 open now by others + this pool of 10 = 98 > 97")
                && crowded.contains("9 in all"),
            "{crowded}"
        );
        let fits = judge(&postgres(100, 3, 0, 1), 10, 1).message();
        assert!(fits.contains("room for 8 more processes"), "{fits}");
    }
}
