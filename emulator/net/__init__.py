"""Edge of the modem towards the (fake) network: the route table and the effect executors."""
