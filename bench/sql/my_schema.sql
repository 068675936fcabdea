-- MariaDB copy of the dataset. Types follow the closest MariaDB equivalent:
-- timestamptz -> DATETIME(6) holding UTC, uuid -> UUID (MariaDB >= 10.7),
-- jsonb -> JSON, bytea -> VARBINARY.
CREATE TABLE pgbench_branches (
    bid int NOT NULL PRIMARY KEY, bbalance int, filler char(88)) ENGINE=InnoDB;
CREATE TABLE pgbench_tellers (
    tid int NOT NULL PRIMARY KEY, bid int, tbalance int, filler char(84)) ENGINE=InnoDB;
CREATE TABLE pgbench_accounts (
    aid int NOT NULL PRIMARY KEY, bid int, abalance int, filler char(84)) ENGINE=InnoDB;
CREATE TABLE pgbench_history (
    tid int, bid int, aid int, delta int, mtime datetime, filler char(22)) ENGINE=InnoDB;
CREATE TABLE wide (
    id         bigint        NOT NULL PRIMARY KEY,
    name       text          NOT NULL,
    note       text,
    amount     decimal(12,2),
    created_at datetime(6)   NOT NULL,
    uid        uuid          NOT NULL,
    payload    varbinary(64),
    attrs      json,
    KEY wide_created_at_idx (created_at)
) ENGINE=InnoDB;
