"""AugMax: adversarial composition of random augmentations, with DuBIN normalisation (NeurIPS 2021)."""
