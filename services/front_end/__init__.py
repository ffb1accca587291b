"""Stand-in for the Sock Shop front-end: pages, sessions and the shop's API in front of its services (README.md)."""
