-- Encrypted attachments in transit (issue 18). The server holds only ciphertext the client padded
-- and encrypted; it never sees a key, a name or a type. Idempotent: every statement may run again.

CREATE SCHEMA IF NOT EXISTS pigeon;

-- One row per upload. The capability that authorises a download lives only in the message the
-- sender wrote; the server keeps its SHA-256, so a copy of this table downloads nothing.
CREATE TABLE IF NOT EXISTS pigeon.attachments
(
    attachment_id   uuid        NOT NULL,
    uploader        text        NOT NULL,
    capability_hash bytea       NOT NULL CHECK (octet_length(capability_hash) = 32),
    size_bytes      bigint      NOT NULL CHECK (size_bytes >= 0),
    chunk_bytes     integer     NOT NULL CHECK (chunk_bytes > 0),
    chunk_count     integer     NOT NULL CHECK (chunk_count >= 0),
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    completed_at    timestamptz NULL,
    downloads       integer     NOT NULL DEFAULT 0,
    CONSTRAINT attachments_pk PRIMARY KEY (attachment_id)
);

-- The expiry sweep deletes by time; the daily quota sums one uploader's recent uploads.
CREATE INDEX IF NOT EXISTS attachments_expires_at_ix ON pigeon.attachments (expires_at);
CREATE INDEX IF NOT EXISTS attachments_uploader_created_at_ix ON pigeon.attachments (uploader, created_at);
CREATE INDEX IF NOT EXISTS attachments_incomplete_ix ON pigeon.attachments (created_at) WHERE completed_at IS NULL;

-- The ciphertext, one row per chunk, so an upload or a download moves one chunk at a time and a
-- dropped upload resumes at the first chunk the server lacks. Rows go with their attachment.
CREATE TABLE IF NOT EXISTS pigeon.attachment_chunks
(
    attachment_id uuid    NOT NULL,
    chunk_index   integer NOT NULL CHECK (chunk_index >= 0),
    bytes         bytea   NOT NULL,
    CONSTRAINT attachment_chunks_pk PRIMARY KEY (attachment_id, chunk_index),
    CONSTRAINT attachment_chunks_attachment_fk FOREIGN KEY (attachment_id)
        REFERENCES pigeon.attachments (attachment_id) ON DELETE CASCADE
);

-- Chunks are ciphertext: compressing them costs CPU and saves nothing.
ALTER TABLE pigeon.attachment_chunks ALTER COLUMN bytes SET STORAGE EXTERNAL;
