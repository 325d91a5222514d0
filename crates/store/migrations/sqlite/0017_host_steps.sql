-- The host-step queue: each step a rollout's driver asks of a host (apply, reboot, verify, …)
-- as a leased row, so that any process (a server replica, later an agent) can claim it, work
-- on it under a lease it renews, and record its result; one whose lease ran out is taken over.
-- Every claim bumps `fence`, the fencing token a renewal or a completion must still match.
CREATE TABLE host_steps (
    -- The queue's order: steps are claimed oldest first.
    id            INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    rollout_id    TEXT    NOT NULL REFERENCES rollouts (id),
    -- The rollout machine's token for the step, unique within the rollout.
    token         INTEGER NOT NULL,
    host          TEXT    NOT NULL CHECK (host <> ''),
    step          TEXT    NOT NULL CHECK (step <> ''),
    -- Whether the step resumes one interrupted before (the machine's own flag).
    resume        BOOLEAN NOT NULL,
    state         TEXT    NOT NULL
                  CHECK (state IN ('queued', 'claimed', 'done', 'abandoned')),
    -- The last process to claim it (kept once done, for the record).
    owner         TEXT,
    fence         INTEGER NOT NULL DEFAULT 0,
    -- Set while claimed only.
    lease_expires INTEGER,
    attempts      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    finished_at   INTEGER,
    -- The result the completing process reported, as JSON.
    result        TEXT,
    UNIQUE (rollout_id, token),
    CHECK ((state = 'claimed') = (lease_expires IS NOT NULL)),
    CHECK ((state IN ('done', 'abandoned')) = (finished_at IS NOT NULL))
);

-- The queue itself: only unfinished steps, in claim order. Finished steps (the history) are
-- not in it, so they never slow a claim down however many there are.
CREATE INDEX host_steps_unfinished ON host_steps (id) WHERE state IN ('queued', 'claimed');
