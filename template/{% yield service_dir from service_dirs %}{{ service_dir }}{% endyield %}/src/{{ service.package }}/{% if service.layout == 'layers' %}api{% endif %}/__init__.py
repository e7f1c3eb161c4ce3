"""HTTP interface: routers, schemas and dependencies."""
