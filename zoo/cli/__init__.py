"""Command-line entry points, one module per command, sharing the error contract."""
