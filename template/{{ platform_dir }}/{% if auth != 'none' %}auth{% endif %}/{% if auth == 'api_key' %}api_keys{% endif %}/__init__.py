"""API keys: `<prefix>_<id>_<secret>`, stored as hashes, one role each, revocable.

The composition root calls `wiring.build_auth`; this package is imported first by
`shared.config` (for its settings), so it imports nothing that needs the database.
"""
