"""Preprocessing options (text, image, video) shared by every source."""
