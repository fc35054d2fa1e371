"""Hyperparameter search over any recipe field (`search:` section, `zoo search`).

`space` holds the section's schema and its load-time checks (no TensorFlow, no Optuna);
`study` opens the Optuna study; `runner` runs trials as ordinary runs; `results` writes
the trials table, plots and `best.yaml`. Optuna is imported only when a search runs.
"""
