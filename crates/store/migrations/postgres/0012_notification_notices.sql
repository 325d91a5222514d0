-- The notices the scheduler sends by itself, each claimed once. PostgreSQL's twin of
-- migrations/sqlite/0012.
CREATE TABLE notification_notices (
    key        TEXT   NOT NULL PRIMARY KEY,
    claimed_at BIGINT NOT NULL,
    claimed_by TEXT   NOT NULL
);
