"""Stand-in for the Sock Shop `carts` service."""
