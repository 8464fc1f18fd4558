"""Edge of the modem towards the (fake) network: the route table and the effect executors.

Must not: import the transport, a backend or the port (executors get a ``NetContext``)."""
