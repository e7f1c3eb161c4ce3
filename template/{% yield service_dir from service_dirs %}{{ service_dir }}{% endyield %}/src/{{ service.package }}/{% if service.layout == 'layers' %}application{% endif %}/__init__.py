"""Use cases: one service per domain, working through ports."""
