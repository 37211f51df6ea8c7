"""The experiment config: parsing, its tables and values, and run settings."""
