"""Stand-in for the Sock Shop `orders` service."""
