"""Two-stream video architecture search (Auto-TSNet, Gong et al., ICCV 2021), reconstructed at mini scale:
a six-variable space of SlowFast-like networks, a weight-sharing supernet, progressive search under a
MACs budget, and clips rendered from motion capture."""
