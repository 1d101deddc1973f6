-- The metrics listener and the readiness probe read the pending and dead emails at every scrape
-- or probe: counted and aged through these small indexes, never by a scan of the week of sent
-- mail the table keeps.
create index email_outbox_pending_created on email_outbox (created_at) where status = 'pending';
create index email_outbox_dead on email_outbox (created_at) where status = 'dead';
