"""Who is calling and what they may do: principals, roles, permissions."""
