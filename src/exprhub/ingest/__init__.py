"""exprhub.ingest."""
