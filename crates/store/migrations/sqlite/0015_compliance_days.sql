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
    -- Unix seconds.
    evaluated_at         INTEGER NOT NULL,
    PRIMARY KEY (day, environment)
);
