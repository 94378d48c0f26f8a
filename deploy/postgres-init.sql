-- Temporal keeps its own databases next to Merchflow's; the temporal-schema job (temporal-sql-tool) creates their schema.
CREATE DATABASE temporal OWNER merchflow;
CREATE DATABASE temporal_visibility OWNER merchflow;
