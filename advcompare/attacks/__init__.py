"""Attacks implemented natively in torch (the paper's pixel swap)."""
