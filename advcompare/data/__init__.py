"""Datasets as 3x32x32 tensors in [0, 1]: the loaders, image folders and splits."""
