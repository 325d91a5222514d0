-- The scheduler's leader among the processes sharing the state (`patchctl serve` replicas): at
-- most one row, absent until a process first claims it. `owner` holds the leadership until
-- `lease_expires` (a Unix time) unless it renews; both are NULL once released. Every claim
-- bumps `fence`, the token a leader's renewal must still find, so that a leader that stalled
-- past its lease and was replaced cannot lead again by renewing.

CREATE TABLE scheduler_leader (
    id            INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    owner         TEXT,
    lease_expires INTEGER,
    fence         INTEGER NOT NULL CHECK (fence >= 1),
    CHECK ((owner IS NULL) = (lease_expires IS NULL))
);
