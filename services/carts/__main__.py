"""`python -m services.carts [--port=N] [--db=HOST | --spring.data.mongodb.uri=URI]` (default 8080 and
mongodb://carts-db:27017/data; see services.carts.app for the environment)."""

from services.carts.app import main

raise SystemExit(main())
