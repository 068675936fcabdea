-- The wide table: one column of each non-integer type the issue names.
-- Every value is a pure function of the row number n, so two runs of this file
-- produce identical rows. psql variable :rows sets the row count.
DROP TABLE IF EXISTS wide;
CREATE TABLE wide (
    id         bigint        PRIMARY KEY,
    name       text          NOT NULL,
    note       text,
    amount     numeric(12,2),
    created_at timestamptz   NOT NULL,
    uid        uuid          NOT NULL,
    payload    bytea,
    attrs      jsonb
);

INSERT INTO wide
SELECT n,
       'item ' || n,
       -- about 100 characters of hex text, NULL on every 50th row
       CASE WHEN n % 50 = 0 THEN NULL
            ELSE md5('a' || n) || '-' || md5('b' || n) || '-' || md5('c' || n) END,
       -- -9999999.99 .. 9999999.99, spread over the range
       ((n * 104729) % 1999999999 - 999999999) / 100.0,
       timestamptz '2020-03-01 00:00:00+00' + n * interval '13 seconds 250 milliseconds',
       md5('uid' || n)::uuid,
       decode(md5('p' || n) || md5('q' || n), 'hex'),          -- 32 bytes
       jsonb_build_object(
           'n', n,
           'code', left(md5('code' || n), 10),
           'even', n % 2 = 0,
           'ratio', round((n % 997) / 13.0, 4),
           'tags', jsonb_build_array((ARRAY['red','green','blue','amber'])[1 + n % 4],
                                     'k' || (n % 31)))
FROM generate_series(1::bigint, :rows) AS n;

CREATE INDEX wide_created_at_idx ON wide (created_at);
VACUUM ANALYZE wide;
