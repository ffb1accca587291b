"""`python -m services.rabbitmq_exporter` on $PUBLISH_PORT (default 9090); RABBIT_URL, RABBIT_USER, RABBIT_PASSWORD."""

from services.rabbitmq_exporter.app import main

raise SystemExit(main())
