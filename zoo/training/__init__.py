"""Training: strategy, compile, fit with resume, and the trainer that orders the steps."""
