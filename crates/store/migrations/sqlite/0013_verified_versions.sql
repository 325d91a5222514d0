-- Promotion evidence: each package version a rollout applied to a host that then ended `done`
-- (its postchecks passed), with when its last postcheck passed. The rows of a host are written
-- in the transaction of the journal entries that take it to `done`, and removed in the one
-- that takes it out again (a rollback by hand), so the table always says what replaying the
-- journals would; the promotion gate reads it instead of replaying them.
--
-- Rollouts journaled before this table have `verified_recorded` false: `ops::promotion`
-- replays each of their journals once, fills their rows and sets it (the store cannot replay a
-- journal: the state machine is the application's). Rollouts created from now on start true.
--
-- Ports to PostgreSQL as written.
CREATE TABLE verified_versions (
    rollout_id  TEXT    NOT NULL REFERENCES rollouts (id),
    host        TEXT    NOT NULL,
    environment TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    arch        TEXT    NOT NULL,
    version     TEXT    NOT NULL,
    -- Unix seconds.
    verified_at INTEGER NOT NULL
);
CREATE INDEX verified_versions_by_host ON verified_versions (rollout_id, host);

ALTER TABLE rollouts ADD COLUMN verified_recorded BOOLEAN NOT NULL DEFAULT TRUE;
UPDATE rollouts SET verified_recorded = FALSE;
