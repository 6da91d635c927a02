"""exprhub.analyze."""
