"""exprhub.refine."""
