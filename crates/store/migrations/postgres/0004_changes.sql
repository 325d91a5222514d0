-- Change approval and the scheduler's claims on maintenance windows. PostgreSQL's twin of
-- migrations/sqlite/0004.

CREATE TABLE change_journal (
    plan_id    TEXT   NOT NULL REFERENCES plans (id),
    seq        BIGINT NOT NULL CHECK (seq >= 1),
    at_ms      BIGINT NOT NULL,
    kind       TEXT   NOT NULL,
    actor      TEXT   NOT NULL,
    body       TEXT   NOT NULL,
    prev_hash  TEXT   NOT NULL CHECK (length(prev_hash) = 64),
    hash       TEXT   NOT NULL CHECK (length(hash) = 64),
    PRIMARY KEY (plan_id, seq)
);

CREATE TRIGGER change_journal_refuses_update BEFORE UPDATE ON change_journal
FOR EACH ROW EXECUTE FUNCTION
    refuse_change('the change journal is append-only: entries cannot be changed');

CREATE TRIGGER change_journal_refuses_delete BEFORE DELETE ON change_journal
FOR EACH ROW EXECUTE FUNCTION
    refuse_change('the change journal is append-only: entries cannot be deleted');

CREATE TABLE scheduler_windows (
    environment  TEXT   NOT NULL,
    window_start BIGINT NOT NULL,
    claimed_at   BIGINT NOT NULL,
    owner        TEXT   NOT NULL,
    plan_id      TEXT   REFERENCES plans (id),
    rollout_id   TEXT   REFERENCES rollouts (id),
    outcome      TEXT,
    PRIMARY KEY (environment, window_start)
);
