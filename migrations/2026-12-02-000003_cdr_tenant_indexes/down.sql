DROP INDEX ix_cdr_peertenantid_start ON cdr;
DROP INDEX ix_cdr_tenantid_start ON cdr;
