-- A rehearsal copy of the state. PostgreSQL's twin of migrations/sqlite/0008.
CREATE TABLE rehearsal (
    id          BIGINT NOT NULL PRIMARY KEY CHECK (id = 1),
    copied_from TEXT   NOT NULL,
    created_at  BIGINT NOT NULL
);
