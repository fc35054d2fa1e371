"""Export: one writer per format, a fresh-process check, and loading saved artifacts."""
