"""`python -m services.front_end [--port=N]` (default 8079, or `$PORT`); configuration in README.md."""

from services.front_end.app import main

raise SystemExit(main())
