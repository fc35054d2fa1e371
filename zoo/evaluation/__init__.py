"""Evaluation: scores from predictions, reports and plots, and the model card."""
