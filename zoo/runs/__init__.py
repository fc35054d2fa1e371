"""The run folder: its file names (layout), manifest, lock and status, and `RunDir`,
the one owner of every write into a run. Used by the trainer, evaluate, export, publish
and search alike."""
