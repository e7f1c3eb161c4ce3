"""Cross-service tests: the services as processes, the real broker between them."""
