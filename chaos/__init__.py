"""The chaos suite (`make chaos`): the service under faults and hostile clients, against
real servers and a PostgreSQL cluster of its own; see __main__.py and scenarios/."""
