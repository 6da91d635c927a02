"""exprhub.hub."""
