"""Console HTTP API (FastAPI): HTTP adapters over ``emulator.control`` (modems, clock, fake
internet) plus each backend's router.

Must not: change the emulator except through ``emulator.control`` (console.py and tls.py only
read platform data)."""
