"""Thin Flask blueprints. Nothing imports this package but the app factory."""
