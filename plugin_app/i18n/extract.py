"""What the code and the templates ask the catalogues for, and what each language lacks.

    python -m plugin_app.i18n.extract            # lists missing texts per language, exit 1 if any
    python -m plugin_app.i18n.extract --stub F   # also writes the missing ones as a .po stub to F

Python: `_()`, `gettext`, `ngettext`, `pgettext`, `N_()` calls; templates: Jinja's `_()`,
`gettext`, `ngettext` and `{% trans %}` blocks (Babel's extractors)."""
from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import write_po

from . import LOCALES, read_catalogue

ROOT = Path(__file__).resolve().parent.parent  # plugin_app
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None}
METHODS = [("i18n/**.py", "ignore"), ("**.py", "python"), ("**/templates/**.html", "jinja2"),
           ("**/templates/**.txt", "jinja2")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"},
           "**/templates/**.txt": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}


def used() -> dict[tuple, list[str]]:
    """Every text in use, as (context, id) -> where ('file:line'). A plural's id is its
    (singular, plural) pair."""
    found: dict = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
            str(ROOT), METHODS, options_map=OPTIONS, keywords=KEYWORDS, strip_comment_tags=True):
        if isinstance(message, tuple):
            message = tuple(m for m in message if m) if len(message) > 1 else message[0]
            if isinstance(message, tuple) and len(message) == 1:
                message = message[0]
        found.setdefault((context, message), []).append(f"{filename}:{lineno}")
    return found


def missing() -> dict[str, list[tuple]]:
    """Per shipped language other than English: the texts in use it has no translation for
    (absent, empty or fuzzy)."""
    texts = used()
    out = {}
    for lang in LOCALES[1:]:
        catalog = read_catalogue(lang)
        lacks = []
        for context, message in texts:
            msg_id = message[0] if isinstance(message, tuple) else message
            entry = catalog.get(msg_id, context=context) if catalog is not None else None
            strings = entry.string if entry is not None else None
            if entry is None or entry.fuzzy or not strings or (isinstance(strings, tuple) and not all(strings)):
                lacks.append((context, message))
        out[lang] = lacks
    return out


def main(argv: list[str]) -> int:
    gaps = missing()
    total = 0
    for lang, lacks in gaps.items():
        total += len(lacks)
        for key in lacks:
            print(f"{lang}: {key!r}")
    if "--stub" in argv:
        path = Path(argv[argv.index("--stub") + 1])
        stub = Catalog(locale="en")
        for context, message in sorted({k for lacks in gaps.values() for k in lacks}, key=str):
            stub.add(message, context=context)
        with path.open("wb") as f:
            write_po(f, stub, width=0)
    print(f"{total} missing" if total else "every language has every text")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
