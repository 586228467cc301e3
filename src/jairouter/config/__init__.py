"""Config schema (pydantic) and its YAML file store (ruamel round-trip)."""
