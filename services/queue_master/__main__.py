"""`python -m services.queue_master --port=8080` (or `$PORT`); broker from RABBITMQ_HOST/PORT (see
services/shipping/broker.py)."""

from services.queue_master.app import main

raise SystemExit(main())
