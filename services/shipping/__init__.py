"""Stand-in for the Sock Shop shipping service (publishes shipments to RabbitMQ with pika)."""
