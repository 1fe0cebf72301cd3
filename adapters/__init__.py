"""Adapters: persistence configuration, projections, HTTP and CLI."""
