"""Corruption robustness: CIFAR-C style corrupted test sets and accuracy / mCE under corruption."""
