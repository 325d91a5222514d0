-- The scheduler's leader among the replicas sharing the state. PostgreSQL's twin of
-- migrations/sqlite/0018: a row with a fencing token, not a session advisory lock, which a
-- transaction-pooling PgBouncer would hand to whichever client uses the connection next.

CREATE TABLE scheduler_leader (
    id            INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    owner         TEXT,
    lease_expires BIGINT,
    fence         BIGINT  NOT NULL CHECK (fence >= 1),
    CHECK ((owner IS NULL) = (lease_expires IS NULL))
);
