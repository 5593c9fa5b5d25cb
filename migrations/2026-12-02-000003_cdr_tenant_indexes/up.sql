-- The call history reads a tenant's legs by tenantid or peertenantid, newest first.
CREATE INDEX ix_cdr_tenantid_start ON cdr (tenantid, `start`);
CREATE INDEX ix_cdr_peertenantid_start ON cdr (peertenantid, `start`);
