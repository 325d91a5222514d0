-- Action plans, the rollouts that carry them out, and each rollout's journal: the append-only,
-- hash-chained record of everything that happened, from which a killed patchctl resumes.
--
-- Written to port to PostgreSQL like 0001 (TEXT ids, INTEGER Unix times, JSON as TEXT), except
-- the triggers at the end, whose bodies are SQLite's; PostgreSQL gets a trigger function that
-- raises the same refusal.

-- Plans are content-addressed and immutable: the id is 'sha256:' and the 64 hex digits of the
-- plan's content, so an approval of an id is an approval of exactly this body.
CREATE TABLE plans (
    id         TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 71),
    created_at INTEGER NOT NULL,
    -- The plan as JSON, byte for byte as it was saved.
    body       TEXT    NOT NULL
);

CREATE INDEX plans_by_time ON plans (created_at, id);

-- A plan being (or having been) carried out. The id is a random lowercase hex string the
-- application makes.
CREATE TABLE rollouts (
    id            TEXT    NOT NULL PRIMARY KEY CHECK (length(id) BETWEEN 6 AND 64),
    plan_id       TEXT    NOT NULL REFERENCES plans (id),
    created_at    INTEGER NOT NULL,
    -- The rollout's settings (error budget, timeouts, …) as JSON.
    config        TEXT    NOT NULL,
    -- Where the rollout stands ('created', 'running', 'paused', 'done', …), as the application
    -- names it; the journal is the truth, this is for listings.
    phase         TEXT    NOT NULL,
    updated_at    INTEGER NOT NULL,
    -- The lease: the process driving the rollout, until when. Both NULL when released; a lease
    -- that ran out keeps its owner until someone else claims it.
    owner         TEXT,
    lease_expires INTEGER,
    CHECK ((owner IS NULL) = (lease_expires IS NULL))
);

CREATE INDEX rollouts_by_time ON rollouts (created_at, id);

-- Every input of a rollout's state machine, in order. Each entry's hash covers the previous
-- entry's hash and its own content (the byte layout is in crates/store/src/journal_chain.rs),
-- so any edit shows as a broken chain; (rollout_id, seq) being the key means two writers can
-- never both append the same seq, so the chain cannot fork.
CREATE TABLE rollout_journal (
    rollout_id TEXT    NOT NULL REFERENCES rollouts (id),
    seq        INTEGER NOT NULL CHECK (seq >= 1),
    -- Unix milliseconds: entries come faster than one a second.
    at_ms      INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    -- The host the entry is about; NULL for the rollout as a whole. Not a reference to hosts:
    -- the journal must take down what happened even to a host the table no longer knows.
    host       TEXT,
    body       TEXT    NOT NULL,
    prev_hash  TEXT    NOT NULL CHECK (length(prev_hash) = 64),
    hash       TEXT    NOT NULL CHECK (length(hash) = 64),
    PRIMARY KEY (rollout_id, seq)
);

-- The journal is evidence: nothing rewrites or removes it, not even by hand through the sqlite3
-- shell without dropping these first.
CREATE TRIGGER rollout_journal_refuses_update BEFORE UPDATE ON rollout_journal
BEGIN
    SELECT RAISE(ABORT, 'the rollout journal is append-only: entries cannot be changed');
END;

CREATE TRIGGER rollout_journal_refuses_delete BEFORE DELETE ON rollout_journal
BEGIN
    SELECT RAISE(ABORT, 'the rollout journal is append-only: entries cannot be deleted');
END;

-- A plan's body never changes either: its id is its hash.
CREATE TRIGGER plans_refuse_update BEFORE UPDATE ON plans
BEGIN
    SELECT RAISE(ABORT, 'plans are immutable: their id is the hash of their content');
END;
