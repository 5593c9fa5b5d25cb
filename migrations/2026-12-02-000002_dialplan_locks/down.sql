DROP TABLE dialplan_locks;
