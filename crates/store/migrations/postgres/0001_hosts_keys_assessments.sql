-- The state of the fleet as patchctl saw it: the hosts, the SSH host keys pinned for them, and
-- every assessment attempt, kept over time. PostgreSQL's twin of migrations/sqlite/0001: TEXT
-- ids, BIGINT Unix times in seconds, BOOLEAN flags, JSON stored as TEXT (read back as text).

CREATE TABLE hosts (
    name            TEXT   NOT NULL PRIMARY KEY,
    address         TEXT   NOT NULL,
    environment     TEXT   NOT NULL,
    -- 'apt' or 'dnf'; NULL until known (detected or overridden).
    package_manager TEXT,
    first_seen      BIGINT NOT NULL,
    last_seen       BIGINT NOT NULL
);

-- The host key accepted for each host. One per host: a different key later is refused, never
-- silently replaced.
CREATE TABLE host_keys (
    host        TEXT   NOT NULL PRIMARY KEY REFERENCES hosts (name),
    key_type    TEXT   NOT NULL,
    key         TEXT   NOT NULL,
    fingerprint TEXT   NOT NULL,
    pinned_at   BIGINT NOT NULL,
    pinned_by   TEXT   NOT NULL
);

-- Every attempt to assess a host, successful or not.
CREATE TABLE assessments (
    -- A UUIDv7: ordered by time even within one second.
    id                TEXT    NOT NULL PRIMARY KEY,
    -- SQLite's rowid: grows with each recorded assessment, for the assessments' mark.
    seq               BIGINT  GENERATED ALWAYS AS IDENTITY UNIQUE,
    host              TEXT    NOT NULL REFERENCES hosts (name),
    taken_at          BIGINT  NOT NULL,
    duration_ms       BIGINT  NOT NULL,
    ok                BOOLEAN NOT NULL,
    error_kind        TEXT,
    error_message     TEXT,
    assessment        TEXT,
    assessment_format BIGINT,
    n_updates         BIGINT,
    n_security        BIGINT,
    n_kernel          BIGINT,
    reboot_required   BOOLEAN,
    CHECK (
        (ok AND assessment IS NOT NULL AND assessment_format IS NOT NULL AND error_kind IS NULL
            AND n_updates IS NOT NULL AND n_security IS NOT NULL AND n_kernel IS NOT NULL
            AND reboot_required IS NOT NULL)
        OR (NOT ok AND assessment IS NULL AND error_kind IS NOT NULL AND error_message IS NOT NULL)
    )
);

CREATE INDEX assessments_by_host_and_time ON assessments (host, taken_at, id);
