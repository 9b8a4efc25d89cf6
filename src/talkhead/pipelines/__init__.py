"""Pipelines: decoding, models and encoding put together for end users."""
