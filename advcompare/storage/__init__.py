"""The run store: cell records and their per-image samples, in SQLite and files."""
