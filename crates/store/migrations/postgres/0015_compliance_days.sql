-- The fleet's compliance day by day, per environment. PostgreSQL's twin of
-- migrations/sqlite/0015.
CREATE TABLE compliance_days (
    day                  TEXT   NOT NULL,
    environment          TEXT   NOT NULL,
    hosts                BIGINT NOT NULL,
    compliant            BIGINT NOT NULL,
    security_updates     BIGINT NOT NULL,
    hosts_with_security  BIGINT NOT NULL,
    reboot_required      BIGINT NOT NULL,
    pending_7d           BIGINT NOT NULL,
    pending_30d          BIGINT NOT NULL,
    pending_90d          BIGINT NOT NULL,
    pending_older        BIGINT NOT NULL,
    patched              BIGINT NOT NULL,
    patched_seconds      BIGINT NOT NULL,
    evaluated_at         BIGINT NOT NULL,
    PRIMARY KEY (day, environment)
);
