"""Store: SQL only. Tables, the engine, the unit of work and set-based queries per concern."""
