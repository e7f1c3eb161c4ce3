"""The service as its own token issuer: accounts, passwords, access and refresh tokens.

The composition root calls `wiring.build_auth`; this package is imported first by
`shared.config` (for its settings), so it imports nothing that needs the database.
"""
