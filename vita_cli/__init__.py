"""vita: efficient, robust and trustworthy deep learning methods as command-line tools."""

__version__ = "0.1.0"
