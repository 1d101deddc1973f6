//! How many connections Postgres takes and how many are open: read once at start-up, so a
//! server process can tell whether its pool fits (`server::connections` does the arithmetic).

use sqlx::PgPool;

/// Postgres's connection limits, and its client connections at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct PostgresConnections {
    /// `max_connections`: every client connection, to any database, counts against it.
    pub max_connections: i32,
    /// `superuser_reserved_connections`: slots only superusers get.
    pub superuser_reserved: i32,
    /// `reserved_connections` (PostgreSQL 16 and later; 0 before): slots only roles with
    /// `pg_use_reserved_connections` get.
    pub reserved: i32,
    /// Client connections open now, to every database, the asking one included.
    pub open: i64,
}

/// Reads the limits and counts the client connections. A role without `pg_read_all_stats`
/// sees other roles' backends without their type, so those are counted by their database:
/// that also counts an autovacuum or parallel worker at work, never fewer than the clients.
pub async fn read(pool: &PgPool) -> Result<PostgresConnections, sqlx::Error> {
    sqlx::query_as(
        "select current_setting('max_connections')::int4 as max_connections,
                current_setting('superuser_reserved_connections')::int4 as superuser_reserved,
                coalesce(current_setting('reserved_connections', true), '0')::int4 as reserved,
                (select count(*) from pg_stat_activity
                 where datid is not null
                   and coalesce(backend_type, 'client backend') = 'client backend') as open",
    )
    .fetch_one(pool)
    .await
}
