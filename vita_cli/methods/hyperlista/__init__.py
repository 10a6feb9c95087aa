"""HyperLISTA (Chen, Liu, Wang, Yin, NeurIPS 2021) and the sparse-coding baselines it is compared with."""
