"""Stand-in for the Sock Shop queue-master (consumes shipping-task with pika)."""
