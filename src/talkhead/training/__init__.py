"""What the training scripts in examples/ share."""
