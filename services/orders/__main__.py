"""`python -m services.orders --port=8080` (or `$PORT`); downstreams from USER_URL, CARTS_URL, PAYMENT_URL."""

from services.orders.app import main

raise SystemExit(main())
