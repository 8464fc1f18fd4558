"""I/O edges: the asyncio runner, pty and TCP ports, the child process of ``exec``, the pyserial
``modemu://`` handler, and the host end of a modem's line for each of them (hostlink.py).

Must not: contain protocol logic (features, executors and backends do)."""
