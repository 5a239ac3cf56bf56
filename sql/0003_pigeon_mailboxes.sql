-- Pigeon's own tables for envelopes in transit.
-- Idempotent: every statement may run again without effect.

CREATE SCHEMA IF NOT EXISTS pigeon;

-- One row per envelope waiting for its recipient. The row holds only what the sender deposited
-- (opaque ciphertext) plus routing and expiry; no sender, no plaintext. Acknowledged envelopes are
-- deleted, so the table holds only what is in transit right now.
CREATE TABLE IF NOT EXISTS pigeon.envelopes
(
    mailbox_id   text        NOT NULL,
    seq          bigint      GENERATED ALWAYS AS IDENTITY,
    message_id   uuid        NOT NULL,
    payload      bytea       NOT NULL,
    size_bytes   integer     NOT NULL CHECK (size_bytes >= 0),
    deposited_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    CONSTRAINT envelopes_pk PRIMARY KEY (mailbox_id, seq),
    CONSTRAINT envelopes_message_id_uq UNIQUE (mailbox_id, message_id)
);

-- The expiry sweep deletes by time across all mailboxes.
CREATE INDEX IF NOT EXISTS envelopes_expires_at_ix ON pigeon.envelopes (expires_at);

-- Ids of envelopes that were acknowledged, without their payload, kept for a retention period so
-- that a sender retrying a deposit after the recipient acknowledged it does not deliver it twice.
CREATE TABLE IF NOT EXISTS pigeon.acknowledged_envelopes
(
    mailbox_id      text        NOT NULL,
    message_id      uuid        NOT NULL,
    seq             bigint      NOT NULL,
    deposited_at    timestamptz NOT NULL,
    acknowledged_at timestamptz NOT NULL,
    CONSTRAINT acknowledged_envelopes_pk PRIMARY KEY (mailbox_id, message_id)
);

CREATE INDEX IF NOT EXISTS acknowledged_envelopes_acknowledged_at_ix
    ON pigeon.acknowledged_envelopes (acknowledged_at);
