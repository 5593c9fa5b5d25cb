-- Drops every Asterisk realtime table created by up.sql (data included).
DROP TABLE queue_log;
DROP TABLE cel;
DROP TABLE cdr;
DROP TABLE extensions;
DROP TABLE queue_rules;
DROP TABLE queue_members;
DROP TABLE queues;
DROP TABLE ps_domain_aliases;
DROP TABLE ps_registrations;
DROP TABLE ps_endpoint_id_ips;
DROP TABLE ps_contacts;
DROP TABLE ps_aors;
DROP TABLE ps_auths;
DROP TABLE ps_endpoints;
