"""Stand-in for the Sock Shop catalogue service (Go), on the real catalogue-db (MariaDB)."""
