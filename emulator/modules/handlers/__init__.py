"""Command families (features). Each module exports ``FEATURE`` (a :class:`Feature`)."""
