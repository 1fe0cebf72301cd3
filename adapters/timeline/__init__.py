"""Timeline views: the envelope table and state summaries on memory, SQLite, PostgreSQL."""
