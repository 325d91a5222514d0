-- Promotion evidence. PostgreSQL's twin of migrations/sqlite/0013; `seq` keeps the order the
-- rows were written in (SQLite's rowid).
CREATE TABLE verified_versions (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rollout_id  TEXT   NOT NULL REFERENCES rollouts (id),
    host        TEXT   NOT NULL,
    environment TEXT   NOT NULL,
    name        TEXT   NOT NULL,
    arch        TEXT   NOT NULL,
    version     TEXT   NOT NULL,
    verified_at BIGINT NOT NULL
);
CREATE INDEX verified_versions_by_host ON verified_versions (rollout_id, host);

ALTER TABLE rollouts ADD COLUMN verified_recorded BOOLEAN NOT NULL DEFAULT TRUE;
UPDATE rollouts SET verified_recorded = FALSE;
