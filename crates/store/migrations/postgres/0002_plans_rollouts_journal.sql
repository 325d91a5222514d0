-- Action plans, the rollouts that carry them out, and each rollout's journal. PostgreSQL's twin
-- of migrations/sqlite/0002; the append-only triggers call one function, `refuse_change`, which
-- raises the message it is given.

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0];
END;
$$;

CREATE TABLE plans (
    id         TEXT   NOT NULL PRIMARY KEY CHECK (length(id) = 71),
    created_at BIGINT NOT NULL,
    body       TEXT   NOT NULL
);

CREATE INDEX plans_by_time ON plans (created_at, id);

CREATE TABLE rollouts (
    id            TEXT   NOT NULL PRIMARY KEY CHECK (length(id) BETWEEN 6 AND 64),
    plan_id       TEXT   NOT NULL REFERENCES plans (id),
    created_at    BIGINT NOT NULL,
    config        TEXT   NOT NULL,
    phase         TEXT   NOT NULL,
    updated_at    BIGINT NOT NULL,
    owner         TEXT,
    lease_expires BIGINT,
    CHECK ((owner IS NULL) = (lease_expires IS NULL))
);

CREATE INDEX rollouts_by_time ON rollouts (created_at, id);

CREATE TABLE rollout_journal (
    rollout_id TEXT   NOT NULL REFERENCES rollouts (id),
    seq        BIGINT NOT NULL CHECK (seq >= 1),
    at_ms      BIGINT NOT NULL,
    kind       TEXT   NOT NULL,
    host       TEXT,
    body       TEXT   NOT NULL,
    prev_hash  TEXT   NOT NULL CHECK (length(prev_hash) = 64),
    hash       TEXT   NOT NULL CHECK (length(hash) = 64),
    PRIMARY KEY (rollout_id, seq)
);

CREATE TRIGGER rollout_journal_refuses_update BEFORE UPDATE ON rollout_journal
FOR EACH ROW EXECUTE FUNCTION
    refuse_change('the rollout journal is append-only: entries cannot be changed');

CREATE TRIGGER rollout_journal_refuses_delete BEFORE DELETE ON rollout_journal
FOR EACH ROW EXECUTE FUNCTION
    refuse_change('the rollout journal is append-only: entries cannot be deleted');

CREATE TRIGGER plans_refuse_update BEFORE UPDATE ON plans
FOR EACH ROW EXECUTE FUNCTION
    refuse_change('plans are immutable: their id is the hash of their content');
