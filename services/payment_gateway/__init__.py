"""Gateway-backed Sock Shop payment service (image `sock-shop-payment-gateway:v2`)."""
