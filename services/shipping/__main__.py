"""`python -m services.shipping --port=8080` (or `$PORT`); broker from RABBITMQ_HOST/PORT (see broker.py);
publisher confirms when $KUBESIM_IMAGE has the tag `publisher-confirms`."""

from services.shipping.app import main

raise SystemExit(main())
