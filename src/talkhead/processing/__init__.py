"""Pure processing: decoding, features, faces and landmarks. Nothing here is an ``nn.Module``."""
