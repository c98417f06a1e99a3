"""Configuration: validated settings from a TOML file, environment variables and flags; credentials."""
