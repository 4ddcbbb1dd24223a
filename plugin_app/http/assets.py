"""The widget files as served: read, versioned and gzip-compressed once per process.

Each file has a content hash; `name.<hash>.js` is its long-lived URL (a new release has new
hashes, so browsers and CDNs may keep a versioned file for a year without asking again). The
plain `name.js` stays short-cached: shop themes and the WordPress plugin reference the launcher
by that stable URL, and the launcher then loads the panel by its versioned URL (the server writes
the panel's current name into the launcher it serves, so the launcher's own hash changes with it).
"""
from __future__ import annotations

import gzip
import hashlib
import re
import threading
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
WIDGETS = ROOT / "widgets"
# The Shopify theme app extension ships its own copies of the launcher and the panel in its
# assets/ folder (served by Shopify's CDN, so the embed needs no backend URL): built from widgets/
# by `make extension-assets` (`python -m plugin_app.http.assets`), checked equal by a test.
EXTENSION_ASSETS = ROOT / "extensions" / "loyalty-embed" / "assets"
EXTENSION_FILES = ("loyalty.js", "panel.js")
EXTENSION_HEADER = ("/* Built from widgets/{name} by `make extension-assets`: edit that file, then run it. */\n")
TYPES = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}
NAME = re.compile(r"^(?P<stem>[a-z0-9_-]{1,40})(?:\.(?P<hash>[0-9a-f]{12}))?\.(?P<ext>js|css)$")
# In loyalty.js, the panel's name; served with the versioned name in its place.
PANEL_MARK = '/*@versioned*/"panel.js"'
# In loyalty.js, the bootstrap texts: served with each language's from the catalogue.
TEXTS_MARK = "/*@texts*/{}"
BOOT_TEXTS = ("launcher", "title", "loading", "error")


def boot_texts() -> str:
    """The launcher's own texts per shipped language (the panel's come with its data), as JSON."""
    import json

    from ..i18n import LOCALES
    from ..services.widget_texts import default

    return json.dumps({lang: {key: default(lang, key) for key in BOOT_TEXTS} for lang in LOCALES},
                      ensure_ascii=False, separators=(",", ":"))


def served(name: str, raw: bytes, built: dict) -> bytes:
    """A widget file's bytes as served: the launcher names the panel by its versioned URL and
    carries the bootstrap texts."""
    if name != "loyalty.js":
        return raw
    if "panel.js" in built:
        raw = raw.replace(PANEL_MARK.encode(), f'"{built["panel.js"].versioned}"'.encode())
    return raw.replace(TEXTS_MARK.encode(), boot_texts().encode())


@dataclass(frozen=True)
class Asset:
    name: str          # "panel.js"
    digest: str        # 12 hex digits of the served bytes' SHA-256
    content_type: str
    raw: bytes
    gz: bytes          # the same bytes gzip-compressed (level 9, no timestamp: stable across processes)

    @property
    def versioned(self) -> str:
        stem, ext = self.name.rsplit(".", 1)
        return f"{stem}.{self.digest}.{ext}"


def _asset(name: str, raw: bytes) -> Asset:
    digest = hashlib.sha256(raw).hexdigest()[:12]
    return Asset(name, digest, TYPES[name.rsplit(".", 1)[1]], raw, gzip.compress(raw, 9, mtime=0))


def build(folder: Path = WIDGETS) -> dict[str, Asset]:
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir())
             if p.is_file() and NAME.match(p.name) and not NAME.match(p.name)["hash"]}
    out: dict[str, Asset] = {}
    # Files the launcher loads come first, so the launcher can carry their versioned names.
    for name in sorted(files, key=lambda n: n == "loyalty.js"):
        out[name] = _asset(name, served(name, files[name], out))
    return out


_table: dict[str, Asset] | None = None
_lock = threading.Lock()


def table() -> dict[str, Asset]:
    global _table
    if _table is None:
        with _lock:
            if _table is None:
                _table = build()
    return _table


def find(requested: str) -> tuple[Asset, bool] | None:
    """The asset a URL name asks for, and whether it is the current version (immutable)."""
    m = NAME.match(requested)
    if m is None:
        return None
    asset = table().get(f"{m['stem']}.{m['ext']}")
    if asset is None:
        return None
    return asset, m["hash"] == asset.digest


def url(name: str) -> str:
    """The versioned path of a widget file, e.g. /widgets/loyalty.3f2a9c0d1b7e.js."""
    return f"/widgets/{table()[name].versioned}"


def extension_assets(folder: Path = WIDGETS) -> dict[str, bytes]:
    """The theme app extension's copies: the launcher with the bootstrap texts written in, as
    served, but naming the panel by its plain name; Shopify's CDN serves each extension version
    from its own path, so the panel beside it is already versioned."""
    out = {}
    for name in EXTENSION_FILES:
        raw = served(name, (folder / name).read_bytes(), {})
        out[name] = EXTENSION_HEADER.format(name=name).encode() + raw
    return out


def write_extension_assets(target: Path = EXTENSION_ASSETS) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in extension_assets().items():
        path = target / name
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
            written.append(path)
    return written


if __name__ == "__main__":
    import sys

    for path in write_extension_assets(Path(sys.argv[1]) if len(sys.argv) > 1 else EXTENSION_ASSETS):
        print(f"wrote {path}")
