-- Several devices per account (issue 16): each device has its own pools of one-time prekeys.
-- Existing rows belong to device 1, the only device an account had before.
-- Idempotent: every statement may run again without effect.

ALTER TABLE pigeon.one_time_prekeys
    ADD COLUMN IF NOT EXISTS device_id bigint NOT NULL DEFAULT 1 CHECK (device_id BETWEEN 1 AND 4294967295);

ALTER TABLE pigeon.one_time_prekeys ALTER COLUMN device_id DROP DEFAULT;

-- The pools are per device: a key id is unique within its account, device and kind.
ALTER TABLE pigeon.one_time_prekeys DROP CONSTRAINT IF EXISTS one_time_prekeys_pk;
ALTER TABLE pigeon.one_time_prekeys ADD CONSTRAINT one_time_prekeys_pk PRIMARY KEY (account_id, device_id, kind, key_id);
