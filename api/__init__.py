"""The crisiswatch HTTP API (FastAPI): read models over the store."""
