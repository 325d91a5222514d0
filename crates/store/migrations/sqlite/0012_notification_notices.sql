-- The notices the scheduler sends by itself (a window's announcement, a postmortem's reminder
-- and overdue notice, each level of an escalation), each claimed here once before it is sent,
-- by one conditional INSERT: a restarted or second scheduler never sends one twice. The key
-- names what it is about (model/src/notification/timing.rs, `Notice::key`); the deliveries
-- themselves are in `notifications`, like every other.
--
-- Ports to PostgreSQL as written.
CREATE TABLE notification_notices (
    key        TEXT    NOT NULL PRIMARY KEY,
    claimed_at INTEGER NOT NULL,
    claimed_by TEXT    NOT NULL
);
