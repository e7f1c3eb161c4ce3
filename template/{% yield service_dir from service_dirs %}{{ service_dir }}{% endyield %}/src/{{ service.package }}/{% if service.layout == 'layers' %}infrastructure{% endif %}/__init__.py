"""Adapters: the concrete storage behind the domain ports."""
