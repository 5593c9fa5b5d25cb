DROP TABLE outbound_routes;
DROP TABLE inbound_routes;
DROP TABLE ivr_menus;
DROP TABLE prompts;
DROP TABLE time_conditions;
DROP TABLE dids;
ALTER TABLE trunks DROP COLUMN is_default;
