"""`python -m services.user [--port=N]` (default 8080, or `$PORT`); MongoDB at `$MONGO_HOST` (default user-db:27017)."""

from services.user.app import main

raise SystemExit(main())
