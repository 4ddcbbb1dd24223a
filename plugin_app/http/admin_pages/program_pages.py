"""The program's settings pages, previews and versions."""
from __future__ import annotations


from flask import redirect, request, url_for

import json

from ...domain import jsondepth
from ...services.program import ProgramInvalid, dump
from .. import program_forms as forms
from ...domain.errors import VersionConflict
from .base import _page, _rt, _shop, bp


PROGRAM_TABS = """<nav class="tabs" aria-label="{{ t.program }}">{% for slug, title, _ in sections %}
  <a href="{{ url_for('admin_pages.program_section', section=slug) }}" class="{{ 'on' if slug == section else '' }}">{{ title[lang] }}</a>{% endfor %}
  <a href="{{ url_for('admin_pages.program') }}" class="{{ 'on' if not section else '' }}">{{ t.history }} · JSON</a></nav>"""


@bp.route("/program", methods=["GET", "POST"])
def program():
    shop = _shop()
    rt = _rt()
    current = rt.programs.current(shop.id)
    text = request.form.get("document") or json.dumps(dump(current.program), indent=2)
    errors, preview, saved = [], None, None
    if request.method == "POST":
        try:
            document = jsondepth.loads(text)
            if request.form.get("action") == "save":
                saved = rt.programs.put(shop.id, document, author=f"admin-page:{shop.id}").version
                current = rt.programs.current(shop.id)
                text = json.dumps(dump(current.program), indent=2)
            else:
                preview = rt.change_preview.preview(shop.id, shop.currency, document)
        except json.JSONDecodeError as exc:
            errors = [{"field": f"line {exc.lineno}", "message": exc.msg}]
        except jsondepth.TooDeep as exc:
            errors = [{"field": "document", "message": str(exc)}]
        except ProgramInvalid as exc:
            errors = exc.fields
    history = rt.programs.history(shop.id)
    return _page("Program", "program", PROGRAM_TABS + """<h1>{{ t.program }} <span class="muted">v{{ version }}</span></h1>
      {% if saved %}<p class="ok" role="status">{{ t.saved }} {{ saved }}</p>{% endif %}
      {% if errors %}<div class="err" role="alert"><ul>{% for e in errors %}<li><code>{{ e.field }}</code>: {{ e.message }}</li>{% endfor %}</ul></div>{% endif %}
      {% if preview %}<div class="card" data-preview>{% if not preview.tier_moves and not preview.orders %}<p>{{ t.no_changes }}</p>{% endif %}
      <ul>{% for m in preview.tier_moves %}<li>{{ m.text }}</li>{% endfor %}{% for o in preview.orders %}<li>{{ o.text }}</li>{% endfor %}</ul></div>{% endif %}
      <form method="post" class="card">{{ csrf() }}<textarea name="document" rows="24" aria-label="{{ t.program }}">{{ text }}</textarea><p>
      <button name="action" value="preview">{{ t.preview }}</button> <button name="action" value="save">{{ t.save }}</button></p></form>
      <div class="card"><h2>{{ t.history }}</h2><table>{% for v in history %}<tr><td>v{{ v.version }}</td><td>{{ v.author }}</td>
      <td>{{ v.created_at[:16] }}</td><td>{{ v.note or '' }}</td><td>{% if v.version != version %}
      <form method="post" action="{{ url_for('admin_pages.restore', version=v.version) }}">{{ csrf() }}<button aria-label="{{ t.restore }} v{{ v.version }}">{{ t.restore }}</button></form>{% endif %}</td></tr>{% endfor %}
      </table></div>""", version=current.version, text=text, errors=errors, preview=preview, saved=saved, history=history,
                 sections=forms.SECTIONS, section=None)


@bp.route("/program/<any(" + ", ".join(slug for slug, _, _ in forms.SECTIONS) + "):section>", methods=["GET", "POST"])
def program_section(section: str):
    """One section of the program as a form: preview what changes for whom, then save."""
    shop = _shop()
    rt = _rt()
    current = rt.programs.current(shop.id)
    document = dump(current.program)
    errors: dict[str, str] = {}
    preview = saved = conflict = None
    if request.method == "POST":
        document, errors, reader = forms.read(section, request.form, document)
        if not errors and not request.form.get("add"):
            try:
                if request.form.get("action") == "save":
                    expected = request.form.get("version", "")
                    pv = rt.programs.put(shop.id, document, author=f"admin-page:{shop.id}",
                                         expected=int(expected) if expected.isdigit() else None,
                                         note=(request.form.get("note") or "").strip()[:500] or f"{section} settings")
                    saved, current, document = pv.version, pv, dump(pv.program)
                else:
                    preview = rt.change_preview.preview(shop.id, shop.currency, document)
            except ProgramInvalid as exc:
                errors = forms.place(exc.fields, reader)
            except VersionConflict as exc:
                conflict = exc.message
    fields, leftovers = forms.render(section, document, errors)
    return _page("Program", "program", PROGRAM_TABS + """
      <h1>{{ section_title[lang] }} <span class="muted">v{{ version }}</span></h1>
      {% if saved %}<p class="ok" role="status">{{ t.saved }} {{ saved }}</p>{% endif %}
      {% if conflict %}<p class="err" role="alert">{{ conflict }}. <a href="">Reload</a> to see the newer version; your edits are below.</p>{% endif %}
      {% if errors %}<div class="err" role="alert" data-errors>{{ errors|length }} field{{ 's' if errors|length != 1 }} to fix before saving
      {% if leftovers %}<ul>{% for p, m in leftovers %}<li><code>{{ p }}</code>: {{ m }}</li>{% endfor %}</ul>{% endif %}</div>{% endif %}
      {% if preview %}<div class="card" data-preview><h2>{{ t.preview }}</h2>{% if not preview.tier_moves and not preview.orders %}<p>{{ t.no_changes }}</p>{% endif %}
      <ul>{% for m in preview.tier_moves %}<li>{{ m.text }}</li>{% endfor %}{% for o in preview.orders %}<li>{{ o.text }}</li>{% endfor %}</ul>
      <p class="muted">{{ preview.members_checked }} members checked; {{ preview.note }}</p></div>{% endif %}
      <form method="post" class="card" novalidate>{{ csrf() }}<input type="hidden" name="version" value="{{ version }}">
      {{ fields }}
      <div class="fld"><label for="note">Note for the history (optional)</label><input id="note" name="note" maxlength="500"></div>
      <p><button name="action" value="preview" class="secondary">{{ t.preview }}</button> <button name="action" value="save">{{ t.save }}</button></p></form>""",
                 sections=forms.SECTIONS, section=section, section_title=next(x[1] for x in forms.SECTIONS if x[0] == section),
                 version=current.version if not conflict else request.form.get("version"), fields=fields,
                 leftovers=leftovers, errors=errors, preview=preview, saved=saved, conflict=conflict)


@bp.post("/program/versions/<int:version>/restore")
def restore(version: int):
    shop = _shop()
    _rt().programs.restore(shop.id, version, author=f"admin-page:{shop.id}")
    return redirect(url_for("admin_pages.program"))
