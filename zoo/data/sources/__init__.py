"""Data sources: each reads one kind of storage into a `DataBundle`."""
