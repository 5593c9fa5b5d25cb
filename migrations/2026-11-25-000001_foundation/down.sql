DROP TABLE audit_log;
DROP TABLE users;
DROP TABLE tenant_domains;
DROP TABLE tenants;
DROP TABLE pbxes;
