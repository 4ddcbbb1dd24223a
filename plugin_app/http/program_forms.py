"""Program settings as HTML forms, one page per section, generated from the program's own
dataclasses (so every field the program defines has an input, and a new field gets one too).

`render` draws a section from the program's JSON; `read` turns the posted form back into JSON
for that section. Saving and previewing go through the same parser as the API, and its field
errors (paths like ``tiers.levels.2.threshold``) are drawn next to the input of that name, or
next to the nearest enclosing group or list.
"""
from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin

from markupsafe import Markup

from ..domain import jsondepth
from ..domain import program as P

# (slug, title, the program's top-level keys edited on that page)
SECTIONS = (
    ("earning", {"en": "Earning", "it": "Guadagno"}, ("earning",)),
    ("actions", {"en": "Actions", "it": "Azioni"}, ("actions",)),
    ("tiers", {"en": "Tiers", "it": "Livelli"}, ("tiers",)),
    ("cashback", {"en": "Cashback", "it": "Cashback"}, ("cashback",)),
    ("campaigns", {"en": "Campaigns", "it": "Campagne"}, ("campaigns",)),
    ("rewards", {"en": "Rewards", "it": "Premi"}, ("rewards", "store_credit")),
    ("expiry", {"en": "Pending and expiry", "it": "Attesa e scadenza"}, ("pending", "expiry")),
    ("referrals", {"en": "Referrals and fraud", "it": "Referral e frodi"}, ("referrals",)),
    ("general", {"en": "Time zone and widget", "it": "Fuso orario e widget"}, ("timezone", "widget", "sync_customer_fields")),
    ("emails", {"en": "Emails", "it": "Email"}, ("notifications",)),
)
SECTION_KEYS = {slug: keys for slug, _, keys in SECTIONS}
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@cache
def hints(cls) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _kind(tp) -> tuple[str, Any]:
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType) and type(None) in args:
        inner = next(a for a in args if a is not type(None))
        kind, arg = _kind(inner)
        return ("optional_group", inner) if kind == "group" else ("optional", (kind, arg))
    if origin is Literal:
        return "choice", args
    if tp is bool:
        return "bool", None
    if tp is int:
        return "int", None
    if tp is Decimal:
        return "decimal", None
    if tp is str:
        return "str", None
    if tp is datetime:
        return "datetime", None
    if origin is list:
        (arg,) = args
        if dataclasses.is_dataclass(arg):
            return "rows", arg
        return ("intlist" if arg is int else "strlist"), None
    if origin is dict:
        _, val = args
        if dataclasses.is_dataclass(val):
            return "keyed_rows", val
        if get_origin(val) is Literal:
            return "choice_map", get_args(val)
        return "json", None
    if dataclasses.is_dataclass(tp):
        return "group", tp
    raise TypeError(f"no form input for {tp!r}")


def label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def blank(cls) -> dict:
    """A new row for a list: the defaults, with required fields left empty."""
    out = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            value = f.default
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            value = f.default_factory()  # type: ignore[misc]
        else:
            kind, arg = _kind(hints(cls)[f.name])
            value = {} if kind == "group" else ""
        if dataclasses.is_dataclass(value):
            value = {k: v for k, v in dataclasses.asdict(value).items()}
        out[f.name] = str(value) if isinstance(value, Decimal) else value
    return out


# -- drawing ------------------------------------------------------------------------------
class Drawer:
    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        self.placed: set[str] = set()
        self.visited: set[str] = set()

    def _err(self, path: str) -> tuple[Markup, Markup]:
        """The message for this path, and the aria attributes that tie it to the input."""
        self.visited.add(path)
        message = self.errors.get(path)
        if message is None:
            return Markup(""), Markup("")
        self.placed.add(path)
        return (Markup('<p class="ferr" id="e-{0}" role="alert">{1}</p>').format(path, message),
                Markup(' aria-invalid="true" aria-describedby="e-{0}"').format(path))

    def field(self, tp, value, path: str, name: str) -> Markup:
        kind, arg = _kind(tp)
        optional = False
        if kind == "optional":
            optional, (kind, arg) = True, arg
        if kind == "group":
            return self.group(arg, value or {}, path, name)
        if kind == "optional_group":
            return self.group(arg, value or {}, path, name, optional=True)
        if kind == "rows":
            return self.rows(arg, value or [], path, name)
        if kind == "keyed_rows":
            return self.rows(arg, [{"__key": k, **v} for k, v in (value or {}).items()], path, name, keyed=True)
        err, aria = self._err(path)
        fid = "f-" + path
        lab = Markup('<label for="{0}">{1}</label>').format(fid, label(name))
        if kind == "bool":
            box = Markup('<input type="checkbox" id="{0}" name="{1}" value="1"{2}{3}>').format(
                fid, path, Markup(" checked") if value else "", aria)
            return Markup('<div class="fld chk">{0} {1}{2}</div>').format(box, lab, err)
        if kind == "choice":
            opts = Markup("").join(Markup('<option value="{0}"{1}>{2}</option>').format(
                o, Markup(" selected") if o == value else "", label(str(o))) for o in arg)
            control = Markup('<select id="{0}" name="{1}"{2}>{3}</select>').format(fid, path, aria, opts)
        elif kind == "choice_map":
            rows = Markup("").join(
                Markup('<label class="pair">{0} <select name="{1}.{2}">{3}</select></label>').format(
                    label(rule), path, rule, Markup("").join(Markup('<option{0}>{1}</option>').format(
                        Markup(" selected") if o == (value or {}).get(rule) else "", o) for o in arg))
                for rule in sorted(set(value or {}) | P.FRAUD_RULES))
            return Markup('<fieldset class="fld"><legend>{0}</legend>{1}{2}</fieldset>').format(label(name), rows, err)
        elif kind == "json":
            control = Markup('<textarea id="{0}" name="{1}" rows="4"{2}>{3}</textarea>').format(
                fid, path, aria, value if isinstance(value, str) else json.dumps(value or {}, indent=1, ensure_ascii=False))
        elif kind == "intlist" and name == "days_of_week":
            boxes = Markup("").join(Markup('<label class="pair"><input type="checkbox" name="{0}" value="{1}"{2}> {3}</label>')
                                    .format(path, i, Markup(" checked") if i in [int(x) for x in value or []] else "", d)
                                    for i, d in enumerate(DAYS))
            return Markup('<fieldset class="fld"><legend>{0}</legend>{1}{2}</fieldset>').format(label(name), boxes, err)
        elif kind in ("intlist", "strlist"):
            text = value if isinstance(value, str) else ", ".join(str(v) for v in value or [])
            control = Markup('<input id="{0}" name="{1}" value="{2}" placeholder="comma, separated"{3}>').format(
                fid, path, text, aria)
        else:
            attrs = {"int": ' inputmode="numeric"', "decimal": ' inputmode="decimal"',
                     "datetime": ' type="datetime-local" step="1"', "str": ""}[kind]
            shown = "" if value is None else str(value)
            if kind == "datetime" and shown:
                shown = shown[:19]
            if name.startswith("body"):
                control = Markup('<textarea id="{0}" name="{1}" rows="5" placeholder="(our wording)"{2}>{3}</textarea>').format(
                    fid, path, aria, shown)
            else:
                control = Markup('<input id="{0}" name="{1}" value="{2}"{3}{4}{5}>').format(
                    fid, path, shown, Markup(attrs), Markup(' placeholder="(none)"') if optional else "", aria)
        return Markup('<div class="fld">{0}{1}{2}</div>').format(lab, control, err)

    def group(self, cls, value: dict, path: str, name: str, optional: bool = False) -> Markup:
        err, _ = self._err(path)
        inner = Markup("").join(self.field(tp, value.get(f), f"{path}.{f}", f) for f, tp in hints(cls).items()
                                if not f.startswith("_"))
        note = Markup('<p class="muted">optional: leave empty for none</p>') if optional else ""
        return Markup('<fieldset class="grp" id="g-{0}"><legend>{1}</legend>{2}{3}{4}</fieldset>').format(
            path, label(name), note, err, inner)

    def rows(self, cls, items: list, path: str, name: str, keyed: bool = False) -> Markup:
        err, _ = self._err(path)
        out = []
        for i, item in enumerate(items):
            row_path = f"{path}.{i}"
            key = Markup("")
            if keyed:
                kerr, karia = self._err(f"{row_path}.__key")
                key = Markup('<div class="fld"><label for="f-{0}.__key">Event name</label>'
                             '<input id="f-{0}.__key" name="{0}.__key" value="{1}"{2}>{3}</div>').format(
                    row_path, item.get("__key", ""), karia, kerr)
            rerr, _ = self._err(row_path)
            fields = Markup("").join(self.field(tp, item.get(f), f"{row_path}.{f}", f) for f, tp in hints(cls).items())
            out.append(Markup('<fieldset class="row" data-row="{0}"><legend>{1} {2}</legend>{3}{4}{5}'
                              '<label class="pair rm"><input type="checkbox" name="{0}.__remove" value="1"> remove</label>'
                              '</fieldset>').format(row_path, label(name), i + 1, rerr, key, fields))
        return Markup('<fieldset class="grp" id="g-{0}"><legend>{1}</legend>{2}'
                      '<input type="hidden" name="{0}.__n" value="{3}">{4}'
                      '<button type="submit" name="add" value="{0}" class="secondary">+ {5}</button></fieldset>').format(
            path, label(name), err, len(items), Markup("").join(out), label(name))

    def leftovers(self) -> list[tuple[str, str]]:
        return [(p, m) for p, m in self.errors.items() if p not in self.placed]


def render(section: str, document: dict, errors: dict[str, str]) -> tuple[Markup, list[tuple[str, str]]]:
    """The section's inputs, and the errors that have no input on this page (shown on top)."""
    top = hints(P.Program)
    probe = Drawer({})
    for k in SECTION_KEYS[section]:
        probe.field(top[k], document.get(k), k, k)
    placed: dict[str, str] = {}
    for path, message in errors.items():  # an error deeper than any input goes to its nearest group
        parts = path.split(".")
        at = next((".".join(parts[:n]) for n in range(len(parts), 0, -1) if ".".join(parts[:n]) in probe.visited), path)
        placed[at] = f"{placed[at]}; {message}" if at in placed else message
    drawer = Drawer(placed)
    body = Markup("").join(drawer.field(top[k], document.get(k), k, k) for k in SECTION_KEYS[section])
    return body, drawer.leftovers()


# -- reading ------------------------------------------------------------------------------
class Reader:
    def __init__(self, form) -> None:
        self.form = form
        self.problems: dict[str, str] = {}  # inputs that are not even the right shape (bad JSON)
        self.keys: dict[str, list[str]] = {}  # keyed rows: path -> keys in row order (to place errors)

    def field(self, tp, path: str, name: str):
        kind, arg = _kind(tp)
        optional = False
        if kind == "optional":
            optional, (kind, arg) = True, arg
        if kind == "group":
            return self.group(arg, path)
        if kind == "optional_group":
            value = self.group(arg, path)
            return value if _filled(value) else None
        if kind == "rows":
            return self.rows(arg, path)
        if kind == "keyed_rows":
            out, keys = {}, []
            for _, row in self.rows(arg, path, keyed=True):
                keys.append(row["__key"])
                out[row.pop("__key")] = row
            self.keys[path] = keys
            return out
        if kind == "bool":
            return self.form.get(path) == "1"
        if kind == "choice_map":
            prefix = path + "."
            return {k[len(prefix):]: v for k, v in self.form.items() if k.startswith(prefix)}
        if kind == "json":
            text = self.form.get(path, "").strip() or "{}"
            try:
                return jsondepth.loads(text)
            except json.JSONDecodeError as exc:
                self.problems[path] = f"not valid JSON: {exc.msg} (line {exc.lineno})"
                return {}
            except jsondepth.TooDeep as exc:
                self.problems[path] = str(exc)
                return {}
        if kind == "intlist" and name == "days_of_week":
            return [int(v) for v in self.form.getlist(path) if v.isdigit()]
        if kind in ("intlist", "strlist"):
            return [v.strip() for v in self.form.get(path, "").split(",") if v.strip()]
        raw = self.form.get(path, "").strip()
        if raw == "" and (optional or kind in ("int", "decimal")):
            return None if optional else raw  # required numbers left empty: the parser says so
        return raw

    def group(self, cls, path: str) -> dict:
        return {f: self.field(tp, f"{path}.{f}", f) for f, tp in hints(cls).items()}

    def rows(self, cls, path: str, keyed: bool = False):
        count = int(self.form.get(f"{path}.__n", "0") or 0)
        out = []
        for i in range(min(count, 200)):
            row_path = f"{path}.{i}"
            if self.form.get(f"{row_path}.__remove") == "1":
                continue
            row = self.group(cls, row_path)
            if keyed:
                row["__key"] = self.form.get(f"{row_path}.__key", "").strip()
                out.append((i, row))
            else:
                out.append(row)
        if self.form.get("add") == path:
            out.append((len(out), {"__key": "", **blank(cls)}) if keyed else blank(cls))
        return out


def _filled(value) -> bool:
    if isinstance(value, dict):
        return any(_filled(v) for v in value.values())
    if isinstance(value, list):
        return bool(value)
    return value not in (None, "", False)


def read(section: str, form, document: dict) -> tuple[dict, dict[str, str], Reader]:
    """The whole document with this section replaced from the form."""
    reader = Reader(form)
    top = hints(P.Program)
    out = dict(document)
    for key in SECTION_KEYS[section]:
        out[key] = reader.field(top[key], key, key)
    return out, reader.problems, reader


def place(fields: list[dict], reader: Reader | None) -> dict[str, str]:
    """Parser error paths → form paths (keyed rows are drawn by position, not by key)."""
    out: dict[str, str] = {}
    for f in fields:
        path = f["field"]
        if reader is not None:
            for prefix, keys in reader.keys.items():
                head = prefix + "."
                if path.startswith(head):
                    key, _, rest = path[len(head):].partition(".")
                    if key in keys:
                        path = f"{prefix}.{keys.index(key)}" + (f".{rest}" if rest else "")
        out.setdefault(path, f["message"])
    return out

