"""exprhub.datasets."""
