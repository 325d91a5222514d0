-- The server's identities: local users (argon2id password hashes, never the password), API
-- tokens (SHA-256 of the token, never the token; a role no higher than their user's, an
-- expiry, a revocation), the count of failed logins in a row and the lockout they led to, and
-- an append-only record of who did what to them (users created, tokens issued and revoked,
-- lockouts).
--
-- Roles are TEXT (viewer, operator, approver, admin: model::access::Role). Ports to PostgreSQL
-- with BIGSERIAL for the record's id.

CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until  INTEGER
);

CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,
    user_name  TEXT NOT NULL REFERENCES users (name),
    role       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER,
    revoked_by TEXT
);

CREATE TABLE identity_events (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    kind    TEXT NOT NULL,
    subject TEXT NOT NULL
);

CREATE TRIGGER identity_events_refuse_update BEFORE UPDATE ON identity_events
BEGIN
    SELECT RAISE(ABORT, 'the identity record is append-only: entries cannot be changed');
END;

CREATE TRIGGER identity_events_refuse_delete BEFORE DELETE ON identity_events
BEGIN
    SELECT RAISE(ABORT, 'the identity record is append-only: entries cannot be deleted');
END;
