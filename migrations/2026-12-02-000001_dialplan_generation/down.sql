ALTER TABLE tenants DROP COLUMN dialplan_generation;
