"""Alembic migrations, shipped inside the package so `loyalty db upgrade` works anywhere."""
