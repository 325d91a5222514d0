-- The fleet's compliance day by day, per environment, as last evaluated that day (UTC): the
-- dashboard's trend, and its current figures, read here instead of evaluating every host on
-- every page. A day's rows are replaced whole by each evaluation that day.
--
-- Ports to PostgreSQL as written.
CREATE TABLE compliance_days (
    -- YYYY-MM-DD, UTC.
    day                  TEXT    NOT NULL,
    environment          TEXT    NOT NULL,
    hosts                INTEGER NOT NULL,
    compliant            INTEGER NOT NULL,
    -- Security updates pending, over the environment's hosts, and the hosts with any.
    security_updates     INTEGER NOT NULL,
    hosts_with_security  INTEGER NOT NULL,
    reboot_required      INTEGER NOT NULL,
    -- Security updates pending by age (0-7, 8-30, 31-90, over 90 days), and those patched
    -- (seen pending, then no longer) in the assessments on record, with their waits' sum.
    pending_7d           INTEGER NOT NULL,
    pending_30d          INTEGER NOT NULL,
    pending_90d          INTEGER NOT NULL,
    pending_older        INTEGER NOT NULL,
    patched              INTEGER NOT NULL,
    patched_seconds      INTEGER NOT NULL,
    -- Unix seconds.
    evaluated_at         INTEGER NOT NULL,
    PRIMARY KEY (day, environment)
);
