-- One row per tenant, locked while its dialplan is rewritten, so that rewrites of one
-- tenant queue up. Not the tenant's own row: inserting a tenant's DID, route or agent
-- share-locks that row (its foreign key), and two changes upgrading to an exclusive lock on
-- it deadlocked. Nothing points here, so nothing else ever locks these rows.
CREATE TABLE dialplan_locks (
    tenant_id BIGINT UNSIGNED NOT NULL,
    CONSTRAINT pk_dialplan_locks PRIMARY KEY (tenant_id)
) ENGINE=InnoDB;
