"""Application services: one method per domain command, taking primitives."""
