-- Which version of Mayday's dialplan compiler wrote a tenant's rows in `extensions`: at
-- start Mayday rewrites the rows of every tenant written by an older one.
ALTER TABLE tenants ADD COLUMN dialplan_generation INT UNSIGNED NOT NULL DEFAULT 0;
