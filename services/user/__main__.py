"""`python -m services.user [--port=N]` (default 8080, or `$PORT`; `$USER_STATE_FILE` persists state)."""

from services.user.app import main

raise SystemExit(main())
