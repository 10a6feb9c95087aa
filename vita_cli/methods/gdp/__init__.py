"""GDP: channel pruning with smoothed-L0 gates, differentiable polarization and exact gate folding."""
