-- Security advisories and the CVEs each fixes. PostgreSQL's twin of migrations/sqlite/0003.

CREATE TABLE advisories (
    id            TEXT   NOT NULL,
    format        TEXT   NOT NULL CHECK (format IN ('osv', 'updateinfo')),
    kind          TEXT   NOT NULL,
    summary       TEXT   NOT NULL,
    severity      TEXT,
    cvss_score    DOUBLE PRECISION,
    cvss_vector   TEXT,
    published     TEXT,
    modified      TEXT,
    source_file   TEXT   NOT NULL,
    imported_at   BIGINT NOT NULL,
    body          TEXT   NOT NULL,
    body_format   BIGINT NOT NULL,
    PRIMARY KEY (id, format)
);

CREATE TABLE advisory_cves (
    cve              TEXT NOT NULL,
    advisory_id      TEXT NOT NULL,
    advisory_format  TEXT NOT NULL,
    PRIMARY KEY (cve, advisory_id, advisory_format),
    FOREIGN KEY (advisory_id, advisory_format) REFERENCES advisories (id, format) ON DELETE CASCADE
);

CREATE INDEX advisory_cves_by_advisory ON advisory_cves (advisory_id, advisory_format);
