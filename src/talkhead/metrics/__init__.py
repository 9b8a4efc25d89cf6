"""Metrics: synchrony, landmark and image metrics."""
