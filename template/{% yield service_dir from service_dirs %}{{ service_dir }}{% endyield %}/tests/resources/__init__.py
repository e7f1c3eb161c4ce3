"""Each resource of the service as its tests know it: one module a domain."""
