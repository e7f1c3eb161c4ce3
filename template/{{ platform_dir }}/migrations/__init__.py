"""The platform's own tables, as Alembic revisions that every service's history loads.

A service's alembic.ini lists this folder among its `version_locations`, beside the
service's `migrations/versions`. Each platform feature (the token issuer's accounts,
API keys, the event outbox) is a branch of its own, labelled `platform_<feature>`,
whose first revision has no parent: turning a feature on adds a base to the history,
and a platform change adds a revision to that branch, never one to the service's own
chain. Hence `alembic upgrade heads` (`make migrate`), and `make migration` writing
after the service's head (`--head 0001@head`).

Alembic reads these files itself; nothing imports them.
"""
