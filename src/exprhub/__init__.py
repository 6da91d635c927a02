"""exprhub: a self-hostable home for gene expression data."""

__version__ = "0.1.0"
