-- 0001 Orleans ADO.NET clustering (Microsoft.Orleans.Clustering.AdoNet, invariant "Npgsql").
--
-- Orleans reads every row of OrleansQuery once when a provider starts and runs the stored texts
-- with @Name parameters; it reads result columns by name. The contract we meet is written down in
-- shared/orleans-adonet-postgres.md. Everything here is idempotent: the migrator applies a file
-- once, but running it again by hand must change nothing.
--
-- Conventions: every time is timestamptz (Npgsql sends UTC DateTime values as timestamptz);
-- PL/pgSQL functions undo a half-done write by raising an exception inside their own block, never
-- with ASSERT, which plpgsql.check_asserts=off silently disables.

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64)   NOT NULL,
    QueryText varchar(8000) NOT NULL,
    CONSTRAINT orleansquery_pkey PRIMARY KEY (QueryKey)
);

-- One row per cluster (Orleans calls the cluster id DeploymentId here). Version is the membership
-- table's optimistic concurrency token: every membership change must name the version it read.
CREATE TABLE IF NOT EXISTS OrleansMembershipVersionTable
(
    DeploymentId varchar(150)   NOT NULL,
    Timestamp    timestamptz(3) NOT NULL DEFAULT now(),
    Version      integer        NOT NULL DEFAULT 0,
    CONSTRAINT orleansmembershipversiontable_pkey PRIMARY KEY (DeploymentId)
);

-- One row per silo incarnation (address, port and generation identify it).
CREATE TABLE IF NOT EXISTS OrleansMembershipTable
(
    DeploymentId varchar(150)   NOT NULL,
    Address      varchar(45)    NOT NULL,
    Port         integer        NOT NULL,
    Generation   integer        NOT NULL,
    SiloName     varchar(150)   NOT NULL,
    HostName     varchar(150)   NOT NULL,
    Status       integer        NOT NULL,
    ProxyPort    integer        NULL,
    SuspectTimes varchar(8000)  NULL,
    StartTime    timestamptz(3) NOT NULL,
    IAmAliveTime timestamptz(3) NOT NULL,
    CONSTRAINT orleansmembershiptable_pkey PRIMARY KEY (DeploymentId, Address, Port, Generation),
    CONSTRAINT orleansmembershiptable_cluster_fkey FOREIGN KEY (DeploymentId)
        REFERENCES OrleansMembershipVersionTable (DeploymentId)
);

-- Raised inside the membership functions when the caller's version is stale or the row is in the
-- wrong state; caught by the same function, which turns it into "false" after the rollback.
-- SQLSTATE 'PGM01' is ours (class PG is not used by PostgreSQL).

-- Adds a silo row and bumps the cluster's version, both or neither, only when the caller's
-- expected version is still current.
CREATE OR REPLACE FUNCTION orleans_membership_join(
    p_cluster        text,
    p_address        text,
    p_port           integer,
    p_generation     integer,
    p_silo_name      text,
    p_host_name      text,
    p_status         integer,
    p_proxy_port     integer,
    p_start_time     timestamptz,
    p_i_am_alive     timestamptz,
    p_expected       integer)
RETURNS boolean
LANGUAGE plpgsql
AS $body$
BEGIN
    BEGIN
        -- The version row is locked first, so concurrent writers queue here and the loser sees
        -- the bumped version.
        UPDATE OrleansMembershipVersionTable
        SET Version = Version + 1,
            Timestamp = now()
        WHERE DeploymentId = p_cluster
          AND Version = p_expected;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'membership version % is stale for cluster %', p_expected, p_cluster
                USING ERRCODE = 'PGM01';
        END IF;

        INSERT INTO OrleansMembershipTable
            (DeploymentId, Address, Port, Generation, SiloName, HostName, Status, ProxyPort,
             StartTime, IAmAliveTime)
        VALUES
            (p_cluster, p_address, p_port, p_generation, p_silo_name, p_host_name, p_status,
             p_proxy_port, p_start_time, p_i_am_alive)
        ON CONFLICT ON CONSTRAINT orleansmembershiptable_pkey DO NOTHING;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'silo %:%@% is already a member of cluster %', p_address, p_port, p_generation, p_cluster
                USING ERRCODE = 'PGM01';
        END IF;

        RETURN true;
    EXCEPTION
        WHEN SQLSTATE 'PGM01' THEN
            RETURN false;
    END;
END
$body$;

-- Changes a silo's status and suspicions and bumps the cluster's version, both or neither, only
-- when the caller's expected version is still current. A heartbeat may have advanced IAmAliveTime
-- since the caller read the row, so it never moves backwards here.
CREATE OR REPLACE FUNCTION orleans_membership_update(
    p_cluster        text,
    p_address        text,
    p_port           integer,
    p_generation     integer,
    p_status         integer,
    p_suspect_times  text,
    p_i_am_alive     timestamptz,
    p_expected       integer)
RETURNS boolean
LANGUAGE plpgsql
AS $body$
BEGIN
    BEGIN
        UPDATE OrleansMembershipVersionTable
        SET Version = Version + 1,
            Timestamp = now()
        WHERE DeploymentId = p_cluster
          AND Version = p_expected;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'membership version % is stale for cluster %', p_expected, p_cluster
                USING ERRCODE = 'PGM01';
        END IF;

        UPDATE OrleansMembershipTable
        SET Status = p_status,
            SuspectTimes = NULLIF(p_suspect_times, ''),
            IAmAliveTime = GREATEST(IAmAliveTime, p_i_am_alive)
        WHERE DeploymentId = p_cluster
          AND Address = p_address
          AND Port = p_port
          AND Generation = p_generation;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'silo %:%@% is not a member of cluster %', p_address, p_port, p_generation, p_cluster
                USING ERRCODE = 'PGM01';
        END IF;

        RETURN true;
    EXCEPTION
        WHEN SQLSTATE 'PGM01' THEN
            RETURN false;
    END;
END
$body$;

-- The query texts Orleans runs. Columns are aliased with quotes so that Orleans' by-name reads
-- match exactly rather than through Npgsql's case-insensitive fallback. A text may only name
-- parameters Orleans 10.4 actually sends: PostgreSQL reads an unbound @Name as the prefix
-- operator @ (absolute value) applied to a column, e.g. InsertMembershipKey gets no SuspectTimes.
INSERT INTO OrleansQuery (QueryKey, QueryText)
VALUES
(
    'InsertMembershipVersionKey',
    'WITH created AS (
        INSERT INTO OrleansMembershipVersionTable (DeploymentId)
        VALUES (@DeploymentId)
        ON CONFLICT ON CONSTRAINT orleansmembershipversiontable_pkey DO NOTHING
        RETURNING 1
    )
    SELECT count(*)::integer AS "RowCount" FROM created;'
),
(
    'InsertMembershipKey',
    'SELECT orleans_membership_join(
        @DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort,
        @StartTime, @IAmAliveTime, @Version) AS "Inserted";'
),
(
    'UpdateMembershipKey',
    'SELECT orleans_membership_update(
        @DeploymentId, @Address, @Port, @Generation, @Status, @SuspectTimes, @IAmAliveTime,
        @Version) AS "Updated";'
),
(
    -- A heartbeat: deliberately outside the version protocol (Orleans ignores the result).
    'UpdateIAmAlivetimeKey',
    'UPDATE OrleansMembershipTable
    SET IAmAliveTime = @IAmAliveTime
    WHERE DeploymentId = @DeploymentId
      AND Address = @Address
      AND Port = @Port
      AND Generation = @Generation;'
),
(
    -- The version row comes back even when the silo has no row (all member columns NULL).
    'MembershipReadRowKey',
    'SELECT
        v.DeploymentId AS "DeploymentId",
        m.Address      AS "Address",
        m.Port         AS "Port",
        m.Generation   AS "Generation",
        m.SiloName     AS "SiloName",
        m.HostName     AS "HostName",
        m.Status       AS "Status",
        m.ProxyPort    AS "ProxyPort",
        m.SuspectTimes AS "SuspectTimes",
        m.StartTime    AS "StartTime",
        m.IAmAliveTime AS "IAmAliveTime",
        v.Version      AS "Version"
    FROM OrleansMembershipVersionTable v
    LEFT JOIN OrleansMembershipTable m
        ON m.DeploymentId = v.DeploymentId
       AND m.Address = @Address
       AND m.Port = @Port
       AND m.Generation = @Generation
    WHERE v.DeploymentId = @DeploymentId;'
),
(
    'MembershipReadAllKey',
    'SELECT
        v.DeploymentId AS "DeploymentId",
        m.Address      AS "Address",
        m.Port         AS "Port",
        m.Generation   AS "Generation",
        m.SiloName     AS "SiloName",
        m.HostName     AS "HostName",
        m.Status       AS "Status",
        m.ProxyPort    AS "ProxyPort",
        m.SuspectTimes AS "SuspectTimes",
        m.StartTime    AS "StartTime",
        m.IAmAliveTime AS "IAmAliveTime",
        v.Version      AS "Version"
    FROM OrleansMembershipVersionTable v
    LEFT JOIN OrleansMembershipTable m ON m.DeploymentId = v.DeploymentId
    WHERE v.DeploymentId = @DeploymentId;'
),
(
    'GatewaysQueryKey',
    'SELECT
        Address    AS "Address",
        ProxyPort  AS "ProxyPort",
        Generation AS "Generation"
    FROM OrleansMembershipTable
    WHERE DeploymentId = @DeploymentId
      AND Status = @Status
      AND ProxyPort > 0;'
),
(
    'DeleteMembershipTableEntriesKey',
    'DELETE FROM OrleansMembershipTable WHERE DeploymentId = @DeploymentId;
    DELETE FROM OrleansMembershipVersionTable WHERE DeploymentId = @DeploymentId;'
),
(
    -- Only Dead (6) silos that neither started, beat, nor were suspected after the cut-off.
    'CleanupDefunctSiloEntriesKey',
    'DELETE FROM OrleansMembershipTable
    WHERE DeploymentId = @DeploymentId
      AND Status = 6
      AND IAmAliveTime < @IAmAliveTime
      AND StartTime < @IAmAliveTime
      AND COALESCE(SuspectTimes, '''') = '''';'
),
(
    -- One Dead row, only if it is still exactly what the caller read.
    'CleanupDefunctSiloEntryKey',
    'DELETE FROM OrleansMembershipTable
    WHERE DeploymentId = @DeploymentId
      AND Address = @Address
      AND Port = @Port
      AND Generation = @Generation
      AND Status = 6
      AND IAmAliveTime = @IAmAliveTime
      AND StartTime = @StartTime
      AND COALESCE(SuspectTimes, '''') = COALESCE(@SuspectTimes, '''');'
)
ON CONFLICT (QueryKey) DO UPDATE
SET QueryText = EXCLUDED.QueryText
WHERE OrleansQuery.QueryText IS DISTINCT FROM EXCLUDED.QueryText;
