-- MobiScud's schema for Orleans' ADO.NET clustering and grain storage on PostgreSQL (Orleans 10.4, Npgsql).
-- Written for MobiScud (not a copy of Orleans' scripts, which no NuGet package ships). It honours the contract
-- Orleans' ADO.NET providers read: the query keys in OrleansQuery, the parameter names they bind (@DeploymentId,
-- @GrainStateVersion, ...) and the result column names they read (Version, PayloadBinary, NewGrainStateVersion, ...).
-- PostgresSchemaInstaller runs this file in one transaction when OrleansQuery is missing.
-- Differences from Orleans' own scripts: no PL/pgSQL (each write is one statement, atomic on its own);
-- grain state is kept as readable JSON (payloadjson, type json: key order kept, which System.Text.Json's
-- polymorphism needs); a real primary key on the grain identity; membership rows cascade with their version row.

CREATE TABLE orleansquery
(
    querykey  varchar(64) PRIMARY KEY,
    querytext text NOT NULL
);

-- Clustering: one version row per cluster (deployment); every membership write bumps it (optimistic concurrency).
CREATE TABLE orleansmembershipversiontable
(
    deploymentid varchar(150) PRIMARY KEY,
    timestamp    timestamptz NOT NULL DEFAULT now(),
    version      integer NOT NULL DEFAULT 0
);

CREATE TABLE orleansmembershiptable
(
    deploymentid varchar(150) NOT NULL REFERENCES orleansmembershipversiontable (deploymentid) ON DELETE CASCADE,
    address      varchar(45) NOT NULL,
    port         integer NOT NULL,
    generation   integer NOT NULL,
    siloname     varchar(150) NOT NULL,
    hostname     varchar(150) NOT NULL,
    status       integer NOT NULL,
    proxyport    integer NOT NULL,
    suspecttimes text NULL,
    starttime    timestamptz NOT NULL,
    iamalivetime timestamptz NOT NULL,
    PRIMARY KEY (deploymentid, address, port, generation)
);

-- A membership write moves the cluster's version on by one, if it is still the version the writer read and the
-- silo's row is absent (insert) or present (update) as the write expects; it returns the cluster id when it did.
-- The UPDATE locks the version row: a racing writer with the same expected version waits, then finds the version
-- moved on and writes nothing. Called inside the write's own statement, so the step and the row change are atomic.
CREATE FUNCTION mobiscud_membership_step(_deployment varchar, _version integer, _address varchar, _port integer, _generation integer, _row_present boolean)
RETURNS SETOF varchar LANGUAGE sql AS $f$
    UPDATE orleansmembershipversiontable SET version = version + 1, timestamp = now()
    WHERE deploymentid = _deployment AND version = _version
      AND _row_present = EXISTS (SELECT 1 FROM orleansmembershiptable m
                                 WHERE m.deploymentid = _deployment AND m.address = _address AND m.port = _port AND m.generation = _generation)
    RETURNING deploymentid
$f$;

-- Grain storage: the state as JSON text, one row per (service, grain type, grain id).
CREATE TABLE orleansstorage
(
    serviceid              varchar(150) NOT NULL,
    graintypestring        varchar(512) NOT NULL,
    grainidn0              bigint NOT NULL,
    grainidn1              bigint NOT NULL,
    grainidextensionstring varchar(512) NOT NULL,
    grainidhash            integer NOT NULL,
    graintypehash          integer NOT NULL,
    payloadjson            json NULL,
    modifiedon             timestamptz NOT NULL,
    version                integer NOT NULL,
    PRIMARY KEY (serviceid, graintypestring, grainidn0, grainidn1, grainidextensionstring)
);

-- Parameters are cast where PostgreSQL could not infer their type (a NULL, or only compared with IS NULL).
INSERT INTO orleansquery (querykey, querytext) VALUES

('InsertMembershipVersionKey', $q$
WITH created AS (
    INSERT INTO orleansmembershipversiontable (deploymentid) VALUES (@DeploymentId)
    ON CONFLICT (deploymentid) DO NOTHING
    RETURNING 1)
SELECT count(*)::integer FROM created
$q$),

('InsertMembershipKey', $q$
WITH inserted AS (
    INSERT INTO orleansmembershiptable (deploymentid, address, port, generation, siloname, hostname, status, proxyport, starttime, iamalivetime)
    SELECT stepped, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort, @StartTime, @IAmAliveTime
    FROM mobiscud_membership_step(@DeploymentId, @Version, @Address, @Port, @Generation, false) AS stepped
    RETURNING 1)
SELECT count(*)::integer FROM inserted
$q$),

('UpdateMembershipKey', $q$
WITH updated AS (
    UPDATE orleansmembershiptable m
    SET status = @Status, suspecttimes = CAST(@SuspectTimes AS text), iamalivetime = greatest(m.iamalivetime, @IAmAliveTime)
    FROM mobiscud_membership_step(@DeploymentId, @Version, @Address, @Port, @Generation, true) AS stepped
    WHERE m.deploymentid = stepped AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
    RETURNING 1)
SELECT count(*)::integer FROM updated
$q$),

-- Heartbeats never move a silo's liveness backwards (a late heartbeat after a newer update).
('UpdateIAmAlivetimeKey', $q$
UPDATE orleansmembershiptable SET iamalivetime = greatest(iamalivetime, @IAmAliveTime)
WHERE deploymentid = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation
$q$),

-- The version row is returned even when the cluster has no silo (yet): the provider needs the version.
('MembershipReadRowKey', $q$
SELECT m.*, v.version
FROM orleansmembershipversiontable v
LEFT JOIN orleansmembershiptable m
       ON m.deploymentid = v.deploymentid AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
WHERE v.deploymentid = @DeploymentId
$q$),

('MembershipReadAllKey', $q$
SELECT m.*, v.version
FROM orleansmembershipversiontable v LEFT JOIN orleansmembershiptable m ON m.deploymentid = v.deploymentid
WHERE v.deploymentid = @DeploymentId
$q$),

-- Membership rows go with their version row (ON DELETE CASCADE).
('DeleteMembershipTableEntriesKey', $q$
DELETE FROM orleansmembershipversiontable WHERE deploymentid = @DeploymentId
$q$),

('GatewaysQueryKey', $q$
SELECT address AS Address, proxyport AS ProxyPort, generation AS Generation
FROM orleansmembershiptable
WHERE deploymentid = @DeploymentId AND status = @Status AND proxyport > 0
$q$),

-- Status 6 is SiloStatus.Dead: only dead silos, quiet since the cut-off and not suspected, are removed.
('CleanupDefunctSiloEntriesKey', $q$
DELETE FROM orleansmembershiptable
WHERE deploymentid = @DeploymentId AND status = 6
  AND iamalivetime < @IAmAliveTime AND starttime < @IAmAliveTime AND coalesce(suspecttimes, '') = ''
$q$),

('CleanupDefunctSiloEntryKey', $q$
DELETE FROM orleansmembershiptable
WHERE deploymentid = @DeploymentId AND status = 6
  AND address = @Address AND port = @Port AND generation = @Generation
  AND iamalivetime = @IAmAliveTime AND starttime = @StartTime
  AND coalesce(suspecttimes, '') = coalesce(CAST(@SuspectTimes AS text), '')
$q$),

-- A grain's state: the provider hands the serialized state as bytes (our serializer writes UTF-8 JSON) and
-- reads it back as PayloadBinary. No row: the grain has no state yet.
('ReadFromStorageKey', $q$
SELECT convert_to(payloadjson::text, 'UTF8') AS PayloadBinary, version AS Version
FROM orleansstorage
WHERE serviceid = @ServiceId AND graintypestring = @GrainTypeString AND grainidn0 = @GrainIdN0 AND grainidn1 = @GrainIdN1
  AND grainidextensionstring = coalesce(CAST(@GrainIdExtensionString AS varchar), '')
$q$),

-- Optimistic concurrency: with a version, update only that version; without one, insert only if no row exists.
-- The answer is the new version, or the caller's own version (or NULL) when nothing was written, which the
-- provider reports as an InconsistentStateException.
('WriteToStorageKey', $q$
WITH updated AS (
    UPDATE orleansstorage
    SET payloadjson = convert_from(@PayloadBinary, 'UTF8')::json, modifiedon = now(), version = version + 1
    WHERE CAST(@GrainStateVersion AS integer) IS NOT NULL AND version = CAST(@GrainStateVersion AS integer)
      AND serviceid = @ServiceId AND graintypestring = @GrainTypeString AND grainidn0 = @GrainIdN0 AND grainidn1 = @GrainIdN1
      AND grainidextensionstring = coalesce(CAST(@GrainIdExtensionString AS varchar), '')
    RETURNING version),
inserted AS (
    INSERT INTO orleansstorage (serviceid, graintypestring, grainidn0, grainidn1, grainidextensionstring, grainidhash, graintypehash, payloadjson, modifiedon, version)
    SELECT @ServiceId, @GrainTypeString, @GrainIdN0, @GrainIdN1, coalesce(CAST(@GrainIdExtensionString AS varchar), ''),
           @GrainIdHash, @GrainTypeHash, convert_from(@PayloadBinary, 'UTF8')::json, now(), 1
    WHERE CAST(@GrainStateVersion AS integer) IS NULL
    ON CONFLICT DO NOTHING
    RETURNING version)
SELECT coalesce((SELECT version FROM updated), (SELECT version FROM inserted), CAST(@GrainStateVersion AS integer)) AS NewGrainStateVersion
$q$),

('ClearStorageKey', $q$
WITH cleared AS (
    UPDATE orleansstorage SET payloadjson = NULL, modifiedon = now(), version = version + 1
    WHERE version = CAST(@GrainStateVersion AS integer)
      AND serviceid = @ServiceId AND graintypestring = @GrainTypeString AND grainidn0 = @GrainIdN0 AND grainidn1 = @GrainIdN1
      AND grainidextensionstring = coalesce(CAST(@GrainIdExtensionString AS varchar), '')
    RETURNING version)
SELECT coalesce((SELECT version FROM cleared), CAST(@GrainStateVersion AS integer)) AS NewGrainStateVersion
$q$),

('DeleteStorageKey', $q$
WITH deleted AS (
    DELETE FROM orleansstorage
    WHERE version = CAST(@GrainStateVersion AS integer)
      AND serviceid = @ServiceId AND graintypestring = @GrainTypeString AND grainidn0 = @GrainIdN0 AND grainidn1 = @GrainIdN1
      AND grainidextensionstring = coalesce(CAST(@GrainIdExtensionString AS varchar), '')
    RETURNING version + 1 AS version)
SELECT coalesce((SELECT version FROM deleted), CAST(@GrainStateVersion AS integer)) AS NewGrainStateVersion
$q$);
