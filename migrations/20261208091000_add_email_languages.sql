-- The language an email was written in (it is rendered when queued), for its Content-Language.
alter table email_outbox add column language text not null default 'en';
-- The language of the request that asked for a password reset code: the worker that sends the
-- code writes in it when the account has picked none.
alter table password_reset_requests add column language text;
