"""Persistence configuration: the pydantic mapper and the library environment per store."""
