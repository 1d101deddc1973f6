-- Second factors: an authenticator app (TOTP) per account, its recovery codes, and the
-- challenge that carries a sign-in from its password to its second step.

-- The secret is sealed (AES-256-GCM under a key derived from SECRET_KEY, the account's id as
-- associated data): a dump of this table yields no secret. `enabled_at` is null while the setup
-- waits for its first code (a new setup replaces a pending one). `last_step` is the last
-- accepted time step: it only moves forward, so each code is accepted once on every replica.
create table totp_factors (
    user_id uuid primary key references users (id) on delete cascade,
    sealed_secret bytea not null,
    enabled_at timestamptz,
    last_step bigint not null default 0,
    created_at timestamptz not null default now()
);

-- Ten per set, each 120 random bits, stored as an HMAC keyed with SECRET_KEY. A used code keeps
-- its row until the next set: the account page counts the ones left.
create table recovery_codes (
    user_id uuid not null references users (id) on delete cascade,
    code_hash bytea not null,
    used_at timestamptz,
    created_at timestamptz not null default now(),
    primary key (user_id, code_hash)
);

-- A password that checked out on an account with a second factor. The client holds the token;
-- only its SHA-256 is kept. `kind` is the session the first step asked for.
create table sign_in_challenges (
    token_hash bytea primary key,
    user_id uuid not null references users (id) on delete cascade,
    kind text not null,
    failures integer not null default 0,
    expires_at timestamptz not null,
    created_at timestamptz not null default now(),
    constraint sign_in_challenges_kind_check check (kind in ('cookie', 'bearer'))
);
create index sign_in_challenges_user on sign_in_challenges (user_id);
create index sign_in_challenges_expires on sign_in_challenges (expires_at);
