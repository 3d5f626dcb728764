-- Report history is pruned service by service through (service_id, time); the index
-- on time alone cost every report a third B-tree insert.
DROP INDEX IF EXISTS service_states_time;
