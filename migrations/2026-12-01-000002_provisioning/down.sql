DROP TABLE trunks;
DROP TABLE queue_memberships;
DROP TABLE tenant_queues;
DROP TABLE agents;
