"""exprhub.formats."""
