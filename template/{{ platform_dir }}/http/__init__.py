"""HTTP plumbing: envelopes, errors, middleware, health and metrics."""
