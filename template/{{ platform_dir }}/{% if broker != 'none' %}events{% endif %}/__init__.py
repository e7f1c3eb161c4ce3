"""Domain events: recorded in the outbox with the change, relayed to the broker."""
