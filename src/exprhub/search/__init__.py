"""exprhub.search."""
