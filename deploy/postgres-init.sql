-- Temporal keeps its own databases next to Merchflow's; auto-setup creates their schema.
CREATE DATABASE temporal OWNER merchflow;
CREATE DATABASE temporal_visibility OWNER merchflow;
