-- Postmortems (root-cause records after a rollback, a failed rollout or an emergency), the
-- append-only record of who did what to each, and every notification patchctl tried to deliver.
--
-- Written to port to PostgreSQL like 0001 (TEXT, INTEGER Unix seconds, BOOLEAN, JSON as TEXT);
-- the ids are INTEGER so that people can type them (`patchctl postmortem close 7`): PostgreSQL
-- gets an identity column. The triggers' bodies are SQLite's, as in 0002.

CREATE TABLE postmortems (
    id           INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    -- What it is about: 'rollout', 'advisory', 'emergency' or 'other', and the reference in
    -- that kind's terms (a rollout id, DSA-5678-1, CVE-2026-1234, free text).
    subject_kind TEXT    NOT NULL,
    subject_ref  TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    -- The hosts concerned, as a JSON array of names (compliance shows an overdue postmortem on
    -- each of them); empty for one about the fleet as a whole.
    hosts        TEXT    NOT NULL,
    owner        TEXT,
    opened_at    INTEGER NOT NULL,
    opened_by    TEXT    NOT NULL,
    due_at       INTEGER NOT NULL CHECK (due_at >= opened_at),
    root_cause   TEXT,
    -- The follow-up actions, as a JSON array of strings.
    actions      TEXT    NOT NULL,
    closed_at    INTEGER,
    closed_by    TEXT,
    CHECK ((closed_at IS NULL) = (closed_by IS NULL)),
    CHECK (closed_at IS NULL OR root_cause IS NOT NULL),
    -- One postmortem per subject: a rollout that ends badly twice (resumed, rolled back by hand)
    -- still gets one.
    UNIQUE (subject_kind, subject_ref)
);

CREATE INDEX postmortems_open ON postmortems (closed_at, due_at);

-- Everything done to a postmortem, by whom and when: opened, closed (with the root cause).
CREATE TABLE postmortem_events (
    postmortem_id INTEGER NOT NULL REFERENCES postmortems (id),
    seq           INTEGER NOT NULL CHECK (seq >= 1),
    at            INTEGER NOT NULL,
    actor         TEXT    NOT NULL,
    -- 'opened', 'closed'.
    action        TEXT    NOT NULL,
    -- The details as JSON.
    body          TEXT    NOT NULL,
    PRIMARY KEY (postmortem_id, seq)
);

CREATE TRIGGER postmortem_events_refuse_update BEFORE UPDATE ON postmortem_events
BEGIN
    SELECT RAISE(ABORT, 'the postmortem record is append-only: entries cannot be changed');
END;

CREATE TRIGGER postmortem_events_refuse_delete BEFORE DELETE ON postmortem_events
BEGIN
    SELECT RAISE(ABORT, 'the postmortem record is append-only: entries cannot be deleted');
END;

-- A closed postmortem stays closed: its root cause is evidence.
CREATE TRIGGER postmortems_stay_closed BEFORE UPDATE ON postmortems
WHEN OLD.closed_at IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'the postmortem is closed: it cannot be changed');
END;

-- Every delivery attempt of a notification, one row per channel and recipient, delivered or
-- not: a failed delivery is on record, never silently lost.
CREATE TABLE notifications (
    id        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    -- The event's kind ('rollout_halted', 'emergency', …) and subject line.
    kind      TEXT    NOT NULL,
    subject   TEXT    NOT NULL,
    -- 'webhook' or 'email', and the URL or the address.
    channel   TEXT    NOT NULL,
    target    TEXT    NOT NULL,
    delivered BOOLEAN NOT NULL,
    -- Why it was not delivered (refused, timed out, HTTP 500, no contact for an owner, …).
    error     TEXT,
    -- The whole event as JSON.
    event     TEXT    NOT NULL,
    CHECK (delivered OR error IS NOT NULL)
);

CREATE INDEX notifications_by_time ON notifications (at, id);
