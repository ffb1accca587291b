"""`python -m services.stripe_mock [-http-port N | --port=N]` (default 12111, or `$PORT`)."""

from services.stripe_mock.app import main

raise SystemExit(main())
