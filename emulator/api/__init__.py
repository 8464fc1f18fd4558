"""Console HTTP API (FastAPI): HTTP adapters over ``emulator.control`` (modems, clock, fake
internet) plus each backend's router."""
