"""Stand-in for `stripe/stripe-mock:latest` (charges API only)."""
