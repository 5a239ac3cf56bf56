-- One-time prekeys, one row each, so that handing one out is a single-row delete.
-- The signed and last-resort prekeys live in the account grain's state (Orleans grain storage).

CREATE SCHEMA IF NOT EXISTS pigeon;

CREATE TABLE IF NOT EXISTS pigeon.one_time_prekeys
(
    account_id  text        NOT NULL,
    kind        smallint    NOT NULL CHECK (kind IN (1, 2)), -- 1 = X25519, 2 = ML-KEM-1024
    key_id      bigint      NOT NULL CHECK (key_id BETWEEN 0 AND 4294967295),
    public_key  bytea       NOT NULL,
    signature   bytea,
    uploaded_at timestamptz NOT NULL,
    CONSTRAINT one_time_prekeys_pk PRIMARY KEY (account_id, kind, key_id)
);
