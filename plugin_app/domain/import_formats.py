"""The importers for the files merchants hold (registered in domain.imports.FORMATS).

Each one cites where its columns are documented. Being written: see domain/imports.py for the
contract every importer keeps.
"""
from __future__ import annotations
