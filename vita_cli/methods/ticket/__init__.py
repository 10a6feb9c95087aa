"""Lottery-ticket ownership (Chen et al., NeurIPS 2021): QR signature in the mask, trigger set, attacks."""
