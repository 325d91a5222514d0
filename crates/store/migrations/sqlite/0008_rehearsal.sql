-- A rehearsal copy of the state: a database with this row was copied (or made empty) for
-- rehearsing at a virtual time (`--now`), and nothing in it is evidence. patchctl refuses a
-- virtual clock for any command that writes to a database without it.
--
-- Ports to PostgreSQL as written.
CREATE TABLE rehearsal (
    id          INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    -- The state database it was copied from, as given; empty for an empty rehearsal.
    copied_from TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
