"""`python -m services.carts [--port=N]` (default 8080, or `$PORT`; `$CARTS_STATE_FILE` persists state)."""

from services.carts.app import main

raise SystemExit(main())
