"""Business rules: entities, their invariants and the ports they need."""
