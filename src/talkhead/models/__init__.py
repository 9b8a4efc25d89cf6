"""Models: one folder per model family, transformers-style configuration and modeling files."""
