"""Composition root and process entry points (CLI main, ASGI app factory, demo)."""
