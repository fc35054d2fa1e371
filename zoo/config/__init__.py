"""Recipes: the schema of every section, safe YAML loading, and the catalog of names."""
