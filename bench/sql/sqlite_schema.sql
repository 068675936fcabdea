-- SQLite copy of the dataset: integer keys are rowid aliases, timestamps are
-- ISO-8601 UTC text, uuid and json are text, bytea is a BLOB.
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
CREATE TABLE pgbench_branches (bid INTEGER PRIMARY KEY, bbalance INTEGER, filler TEXT);
CREATE TABLE pgbench_tellers (tid INTEGER PRIMARY KEY, bid INTEGER, tbalance INTEGER, filler TEXT);
CREATE TABLE pgbench_accounts (aid INTEGER PRIMARY KEY, bid INTEGER, abalance INTEGER, filler TEXT);
CREATE TABLE pgbench_history (
    tid INTEGER, bid INTEGER, aid INTEGER, delta INTEGER, mtime TEXT, filler TEXT);
CREATE TABLE wide (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    note       TEXT,
    amount     NUMERIC,
    created_at TEXT NOT NULL,
    uid        TEXT NOT NULL,
    payload    BLOB,
    attrs      TEXT
);
