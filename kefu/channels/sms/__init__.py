"""SMS: an outbox of outgoing messages delivered by a driver, and replies from a gateway."""
