"""exprhub.cli."""
