-- Change approval and the scheduler's claims on maintenance windows.
--
-- Written to port to PostgreSQL like 0001 and 0002 (TEXT ids, INTEGER Unix times, JSON as
-- TEXT), except the triggers' bodies, which are SQLite's.

-- Every action on a change (the request, approvals, rejections, automatic approvals), per plan:
-- approval is of a plan's content hash, so a changed plan is another id with an empty journal.
-- Chained like rollout_journal, with the same byte layout (crates/store/src/journal_chain.rs),
-- the actor taking the place of the host; the body names the plan, so an entry copied into
-- another plan's journal does not verify as that plan's.
CREATE TABLE change_journal (
    plan_id    TEXT    NOT NULL REFERENCES plans (id),
    seq        INTEGER NOT NULL CHECK (seq >= 1),
    at_ms      INTEGER NOT NULL,
    -- 'request', 'approve', 'reject', 'auto_approve', as the application names them.
    kind       TEXT    NOT NULL,
    -- Who: a person's name as given with --as, or 'system:scheduler'.
    actor      TEXT    NOT NULL,
    -- The ticket and comment, and the plan id, as JSON.
    body       TEXT    NOT NULL,
    prev_hash  TEXT    NOT NULL CHECK (length(prev_hash) = 64),
    hash       TEXT    NOT NULL CHECK (length(hash) = 64),
    PRIMARY KEY (plan_id, seq)
);

CREATE TRIGGER change_journal_refuses_update BEFORE UPDATE ON change_journal
BEGIN
    SELECT RAISE(ABORT, 'the change journal is append-only: entries cannot be changed');
END;

CREATE TRIGGER change_journal_refuses_delete BEFORE DELETE ON change_journal
BEGIN
    SELECT RAISE(ABORT, 'the change journal is append-only: entries cannot be deleted');
END;

-- One row per environment and window opening the scheduler acted in, inserted (claimed) in one
-- conditional statement before anything starts: a restarted or second scheduler finds the row
-- and starts nothing more in that window.
CREATE TABLE scheduler_windows (
    environment  TEXT    NOT NULL,
    -- The window's opening, Unix seconds.
    window_start INTEGER NOT NULL,
    claimed_at   INTEGER NOT NULL,
    -- The scheduler process that claimed it (`patchctl@machine:pid`).
    owner        TEXT    NOT NULL,
    -- What came of it, once known: the plan and rollout started, or why nothing was.
    plan_id      TEXT    REFERENCES plans (id),
    rollout_id   TEXT    REFERENCES rollouts (id),
    outcome      TEXT,
    PRIMARY KEY (environment, window_start)
);
