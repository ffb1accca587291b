"""`python -m services.orders --port=8080` (or `$PORT`); downstreams from USER_URL, CARTS_URL, PAYMENT_URL,
SHIPPING_URL; MongoDB from --spring.data.mongodb.uri / $SPRING_DATA_MONGODB_URI / --db / $MONGO_HOST (default
mongodb://orders-db:27017/data)."""

from services.orders.app import main

raise SystemExit(main())
