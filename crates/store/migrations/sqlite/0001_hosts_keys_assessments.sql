-- The state of the fleet as patchctl saw it: the hosts, the SSH host keys pinned for them, and
-- every assessment attempt, kept over time.
--
-- Written to port to PostgreSQL, which gets its own migrations: TEXT ids, INTEGER Unix times in
-- seconds, BOOLEAN flags, JSON stored as TEXT, no SQLite-only types or functions.

CREATE TABLE hosts (
    name            TEXT    NOT NULL PRIMARY KEY,
    address         TEXT    NOT NULL,
    environment     TEXT    NOT NULL,
    -- 'apt' or 'dnf'; NULL until known (detected or overridden).
    package_manager TEXT,
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL
);

-- The host key accepted for each host (pinned by --accept-new-host-keys or by hand). One per
-- host: a different key later is refused, never silently replaced.
CREATE TABLE host_keys (
    host        TEXT    NOT NULL PRIMARY KEY REFERENCES hosts (name),
    -- e.g. 'ssh-ed25519'.
    key_type    TEXT    NOT NULL,
    -- The key blob in base64, as OpenSSH writes it.
    key         TEXT    NOT NULL,
    -- 'SHA256:…', as ssh-keygen -l prints it.
    fingerprint TEXT    NOT NULL,
    pinned_at   INTEGER NOT NULL,
    -- Who accepted it: a user name, or 'inventory'.
    pinned_by   TEXT    NOT NULL
);

-- Every attempt to assess a host, successful or not.
CREATE TABLE assessments (
    -- A UUIDv7: ordered by time even within one second.
    id                TEXT    NOT NULL PRIMARY KEY,
    host              TEXT    NOT NULL REFERENCES hosts (name),
    taken_at          INTEGER NOT NULL,
    duration_ms       INTEGER NOT NULL,
    ok                BOOLEAN NOT NULL,
    -- For failed attempts: a stable code ('refused', 'timed_out', 'auth_failed',
    -- 'host_key_changed', 'package_manager_broken', …) and the message shown to people.
    error_kind        TEXT,
    error_message     TEXT,
    -- For successful ones: the assessment as JSON, and the version of that JSON's shape, so a
    -- later change of the domain type can still read old rows.
    assessment        TEXT,
    assessment_format INTEGER,
    -- A summary of the assessment, for listings that must not parse every JSON document.
    n_updates         INTEGER,
    n_security        INTEGER,
    n_kernel          INTEGER,
    reboot_required   BOOLEAN,
    CHECK (
        (ok AND assessment IS NOT NULL AND assessment_format IS NOT NULL AND error_kind IS NULL
            AND n_updates IS NOT NULL AND n_security IS NOT NULL AND n_kernel IS NOT NULL
            AND reboot_required IS NOT NULL)
        OR (NOT ok AND assessment IS NULL AND error_kind IS NOT NULL AND error_message IS NOT NULL)
    )
);

CREATE INDEX assessments_by_host_and_time ON assessments (host, taken_at, id);
