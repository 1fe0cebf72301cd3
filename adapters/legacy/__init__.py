"""The legacy ZakOps tables: the projection into them and the reading of their history."""
