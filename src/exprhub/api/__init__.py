"""exprhub.api."""
