"""Persistence: SQLAlchemy Core tables, repositories scoped to a shop, the unit of work."""
