DROP TABLE live_counters;
DROP TABLE agent_pauses;
