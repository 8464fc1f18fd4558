"""I/O edges: the asyncio runner, pty and TCP ports, the pyserial ``modemu://`` handler."""
