"""How each domain joins the app: one module per domain, each with `register(container)`.

Part of the composition root (with bootstrap.py): the only place besides it that
names concrete adapters. The modules are the service's own; the template writes one
when a domain is added and never changes it afterwards.
"""
