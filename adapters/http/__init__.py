"""The HTTP adapter (FastAPI): routes, problem errors, auth, SSE streams, metrics."""
