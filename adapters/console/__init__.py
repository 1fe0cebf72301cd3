"""The operator console: server-rendered pages (Jinja2 + htmx) over the same application
services and queries as the HTTP API, signed in with an API key kept as a session cookie."""
