"""Writing catalogue files from a table of translations (how the shipped `.po` files are kept:
`python -m plugin_app.i18n.pofile AREA FILE.json` merges {"text": {"it": ..., "de": ...}} into
each language's `<AREA>.po`, keeping what is there)."""
from __future__ import annotations

import json
import sys

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from . import CATALOGUES, LOCALES


def merge(area: str, table: dict) -> None:
    """`table`: {msgid: {lang: text}} or {msgid: {lang: [singular, plural...]}} for plurals,
    whose msgid is "singular|plural"; "context\\x04msgid" for a text with a context."""
    for lang in LOCALES[1:]:
        path = CATALOGUES / lang / "LC_MESSAGES" / f"{area}.po"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as f:
                catalog = read_po(f, locale=lang)
        else:
            catalog = Catalog(locale=lang, project="loyalty", version="1", charset="utf-8", fuzzy=False)
        for key, texts in table.items():
            if lang not in texts:
                continue
            context, _, msgid = key.rpartition("\x04")
            ids = tuple(msgid.split("|")) if isinstance(texts[lang], list) else msgid
            string = tuple(texts[lang]) if isinstance(texts[lang], list) else texts[lang]
            catalog.add(ids, string, context=context or None)
        with path.open("wb") as f:
            write_po(f, catalog, width=100, sort_output=True, omit_header=False)


if __name__ == "__main__":
    area, source = sys.argv[1], sys.argv[2]
    with open(source, encoding="utf-8") as f:
        merge(area, json.load(f))
