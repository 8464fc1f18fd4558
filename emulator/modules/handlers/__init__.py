"""Command families (features). Each module exports ``FEATURE`` (a :class:`Feature`).

Must not: import its feature modules eagerly or hold state (profiles import what they use)."""
