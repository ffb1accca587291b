"""Stand-in for the Sock Shop `user` service."""
