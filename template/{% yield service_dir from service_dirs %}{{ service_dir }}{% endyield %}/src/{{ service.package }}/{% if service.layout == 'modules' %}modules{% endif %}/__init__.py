"""Independent modules, one per domain; they never import each other."""
