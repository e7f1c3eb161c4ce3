"""Cache-aside reads for the application services (see docs/architecture.md, Caching)."""
