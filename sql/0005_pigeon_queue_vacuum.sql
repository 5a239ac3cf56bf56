-- The envelope table is a queue: every row is inserted, read once and deleted within seconds, so
-- under load it holds a few live rows and a growing tail of dead ones. PostgreSQL's defaults vacuum
-- a table once 20 % of it is dead, which for a table of a few hundred live rows means "rarely
-- relative to the churn"; the dead index entries then make every lookup of a deposit or an
-- acknowledgement slower. Vacuum it after a fixed number of dead rows instead, without throttling.
-- How often autovacuum looks at all is the server's autovacuum_naptime (docs/deploying.md).
-- Idempotent: setting storage parameters again changes nothing.

ALTER TABLE pigeon.envelopes SET (
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 2000,
    autovacuum_vacuum_insert_scale_factor = 0,
    autovacuum_vacuum_insert_threshold = 2000,
    autovacuum_analyze_scale_factor = 0,
    autovacuum_analyze_threshold = 2000,
    autovacuum_vacuum_cost_delay = 0
);

-- pigeon.acknowledged_envelopes keeps the defaults: it only grows until the sweeper forgets ids, and
-- its lookups are misses that never visit the heap, so vacuuming it more often would cost more than it saves.
