"""`python -m services.payment_gateway` (repo root) or `python -m payment_gateway` (image)."""

from .app import main

raise SystemExit(main())
