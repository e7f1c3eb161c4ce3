"""Requests per client per minute (see docs/architecture.md, Rate limiting)."""
