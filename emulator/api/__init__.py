"""Console HTTP API (FastAPI): modems, clock, fake internet, and each backend's router."""
