"""The paper CNN, its training and weights cache, user models and preflight checks."""
