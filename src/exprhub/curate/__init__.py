"""exprhub.curate."""
