-- Security advisories imported from OSV records and dnf updateinfo, and the CVEs each fixes.
--
-- Written to port to PostgreSQL like 0001 (TEXT ids, INTEGER Unix times, JSON as TEXT; REAL
-- becomes DOUBLE PRECISION there).

-- One row per advisory and format: the same id can come both as an OSV record and as an
-- updateinfo entry (RLSA-…), and each is kept as its source wrote it. A re-import replaces the
-- row (same key), so importing twice never duplicates.
CREATE TABLE advisories (
    id            TEXT    NOT NULL,
    -- 'osv' or 'updateinfo'.
    format        TEXT    NOT NULL CHECK (format IN ('osv', 'updateinfo')),
    -- 'security', 'bugfix', 'enhancement' or 'unknown'.
    kind          TEXT    NOT NULL,
    summary       TEXT    NOT NULL,
    -- From the highest CVSS score, else the distribution's rating; NULL when neither is known.
    severity      TEXT,
    cvss_score    REAL,
    cvss_vector   TEXT,
    published     TEXT,
    modified      TEXT,
    -- The file it was last imported from, and when.
    source_file   TEXT    NOT NULL,
    imported_at   INTEGER NOT NULL,
    -- The advisory as JSON (model::advisory::Advisory), and the version of that JSON's shape.
    body          TEXT    NOT NULL,
    body_format   INTEGER NOT NULL,
    PRIMARY KEY (id, format)
);

-- The CVEs each advisory fixes, for `patchctl cve CVE-…` without reading every body.
CREATE TABLE advisory_cves (
    cve              TEXT NOT NULL,
    advisory_id      TEXT NOT NULL,
    advisory_format  TEXT NOT NULL,
    PRIMARY KEY (cve, advisory_id, advisory_format),
    FOREIGN KEY (advisory_id, advisory_format) REFERENCES advisories (id, format) ON DELETE CASCADE
);

CREATE INDEX advisory_cves_by_advisory ON advisory_cves (advisory_id, advisory_format);
