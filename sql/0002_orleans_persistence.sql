-- 0002 Orleans ADO.NET grain storage (Microsoft.Orleans.Persistence.AdoNet, invariant "Npgsql").
--
-- Orleans identifies a grain's state by (GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1,
-- GrainTypeString, GrainIdExtensionString, ServiceId) and guards every change with an int32
-- version (its ETag): a write names the version it read (NULL for a grain never written), and a
-- write that returns that same version, or none, makes Orleans throw InconsistentStateException.
-- Idempotent like every migration here.

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64)   NOT NULL,
    QueryText varchar(8000) NOT NULL,
    CONSTRAINT orleansquery_pkey PRIMARY KEY (QueryKey)
);

-- GrainIdExtensionString is NULL for integer and GUID keys without an extension, so the key
-- treats NULLs as equal (PostgreSQL 15+); without that, two "first writes" of one grain could both
-- insert. The unique index also serves every lookup: its leading columns are the two hashes.
CREATE TABLE IF NOT EXISTS OrleansStorage
(
    GrainIdHash            integer      NOT NULL,
    GrainIdN0              bigint       NOT NULL,
    GrainIdN1              bigint       NOT NULL,
    GrainTypeHash          integer      NOT NULL,
    GrainTypeString        varchar(512) NOT NULL,
    GrainIdExtensionString varchar(512) NULL,
    ServiceId              varchar(150) NOT NULL,
    PayloadBinary          bytea        NULL,
    ModifiedOn             timestamptz  NOT NULL DEFAULT now(),
    Version                integer      NOT NULL,
    CONSTRAINT orleansstorage_grain_key UNIQUE NULLS NOT DISTINCT
        (GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1, GrainTypeString, GrainIdExtensionString, ServiceId)
);

-- The version after v. Orleans only compares ETags for equality, so after int.MaxValue it wraps
-- to 1 instead of failing every later write with "integer out of range".
CREATE OR REPLACE FUNCTION orleans_storage_next_version(v integer)
RETURNS integer
LANGUAGE sql
IMMUTABLE STRICT PARALLEL SAFE
AS $body$
    SELECT v % 2147483647 + 1;
$body$;

-- Writes a grain's state. With no expected version the state must not exist yet: the insert
-- either creates version 1 or, when another activation got there first, returns NULL. With an
-- expected version the row must still carry it; otherwise the expected version comes back
-- unchanged. Either way Orleans sees the conflict.
CREATE OR REPLACE FUNCTION orleans_storage_write(
    p_grain_id_hash   integer,
    p_grain_id_n0     bigint,
    p_grain_id_n1     bigint,
    p_grain_type_hash integer,
    p_grain_type      text,
    p_key_extension   text,
    p_service_id      text,
    p_expected        integer,
    p_payload         bytea)
RETURNS integer
LANGUAGE plpgsql
AS $body$
DECLARE
    written integer;
BEGIN
    IF p_expected IS NULL THEN
        INSERT INTO OrleansStorage
            (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString,
             GrainIdExtensionString, ServiceId, PayloadBinary, ModifiedOn, Version)
        VALUES
            (p_grain_id_hash, p_grain_id_n0, p_grain_id_n1, p_grain_type_hash, p_grain_type,
             p_key_extension, p_service_id, p_payload, now(), 1)
        ON CONFLICT ON CONSTRAINT orleansstorage_grain_key DO NOTHING
        RETURNING Version INTO written;
        RETURN written;
    END IF;

    UPDATE OrleansStorage
    SET PayloadBinary = p_payload,
        ModifiedOn = now(),
        Version = orleans_storage_next_version(Version)
    WHERE GrainIdHash = p_grain_id_hash
      AND GrainTypeHash = p_grain_type_hash
      AND GrainIdN0 = p_grain_id_n0
      AND GrainIdN1 = p_grain_id_n1
      AND GrainTypeString = p_grain_type
      AND GrainIdExtensionString IS NOT DISTINCT FROM p_key_extension
      AND ServiceId = p_service_id
      AND Version = p_expected
    RETURNING Version INTO written;
    RETURN COALESCE(written, p_expected);
END
$body$;

INSERT INTO OrleansQuery (QueryKey, QueryText)
VALUES
(
    'WriteToStorageKey',
    'SELECT orleans_storage_write(
        @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString,
        @GrainIdExtensionString, @ServiceId, @GrainStateVersion, @PayloadBinary) AS "NewGrainStateVersion";'
),
(
    -- No row: Orleans starts from a fresh state with no ETag. A cleared row has a NULL payload
    -- and keeps its version, which the next write must name.
    'ReadFromStorageKey',
    'SELECT
        PayloadBinary AS "PayloadBinary",
        Version       AS "Version"
    FROM OrleansStorage
    WHERE GrainIdHash = @GrainIdHash
      AND GrainTypeHash = @GrainTypeHash
      AND GrainIdN0 = @GrainIdN0
      AND GrainIdN1 = @GrainIdN1
      AND GrainTypeString = @GrainTypeString
      AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
      AND ServiceId = @ServiceId;'
),
(
    -- Keeps the row (and so the version sequence) with no payload; no row back means a conflict.
    'ClearStorageKey',
    'UPDATE OrleansStorage
    SET PayloadBinary = NULL,
        ModifiedOn = now(),
        Version = orleans_storage_next_version(Version)
    WHERE GrainIdHash = @GrainIdHash
      AND GrainTypeHash = @GrainTypeHash
      AND GrainIdN0 = @GrainIdN0
      AND GrainIdN1 = @GrainIdN1
      AND GrainTypeString = @GrainTypeString
      AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
      AND ServiceId = @ServiceId
      AND Version = @GrainStateVersion
    RETURNING Version AS "NewGrainStateVersion";'
),
(
    -- Used when DeleteStateOnClear is set. Orleans needs a value different from the ETag it sent
    -- to know the delete happened, hence the next version of the deleted row.
    'DeleteStorageKey',
    'DELETE FROM OrleansStorage
    WHERE GrainIdHash = @GrainIdHash
      AND GrainTypeHash = @GrainTypeHash
      AND GrainIdN0 = @GrainIdN0
      AND GrainIdN1 = @GrainIdN1
      AND GrainTypeString = @GrainTypeString
      AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
      AND ServiceId = @ServiceId
      AND Version = @GrainStateVersion
    RETURNING orleans_storage_next_version(Version) AS "NewGrainStateVersion";'
)
ON CONFLICT (QueryKey) DO UPDATE
SET QueryText = EXCLUDED.QueryText
WHERE OrleansQuery.QueryText IS DISTINCT FROM EXCLUDED.QueryText;
