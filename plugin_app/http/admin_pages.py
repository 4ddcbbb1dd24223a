"""The merchant's admin pages, server-rendered on top of the admin API's services. Sign-in: the
shop's admin API key, or a one-time link from `loyalty admin-link` (signed, 15 minutes). The
session cookie is Flask's signed cookie; every page is scoped to the signed-in shop."""
from __future__ import annotations

import json
import secrets
from datetime import timedelta

import pygal
from flask import Blueprint, current_app, redirect, render_template_string, request, session, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from markupsafe import Markup

from ..domain.errors import DomainError
from ..services.program import ProgramInvalid, dump

bp = Blueprint("admin_pages", __name__, url_prefix="/admin")

TEXTS = {
    "en": {"dashboard": "Dashboard", "members": "Members", "program": "Program", "operations": "Operations",
           "sign_in": "Sign in", "api_key": "Admin API key", "sign_out": "Sign out", "search": "Search",
           "points_issued": "Points issued", "points_redeemed": "Points redeemed", "outstanding": "Outstanding points",
           "liability": "Liability", "redemption_rate": "Redemption rate", "per_tier": "Members per tier",
           "per_day": "Points per day", "adjust": "Adjust", "reason": "Reason", "amount": "Points (+/-)",
           "history": "Versions", "restore": "Restore", "preview": "Preview", "save": "Save",
           "ledger": "Ledger", "failed": "Failed deliveries", "replay": "Replay", "reconciled": "Last reconciliation",
           "no_changes": "Nothing changes for existing members or sample orders.", "saved": "Saved as version",
           "export": "Export"},
    "it": {"dashboard": "Panoramica", "members": "Membri", "program": "Programma", "operations": "Operazioni",
           "sign_in": "Accedi", "api_key": "Chiave API admin", "sign_out": "Esci", "search": "Cerca",
           "points_issued": "Punti emessi", "points_redeemed": "Punti riscattati", "outstanding": "Punti in circolo",
           "liability": "Passività", "redemption_rate": "Tasso di riscatto", "per_tier": "Membri per livello",
           "per_day": "Punti al giorno", "adjust": "Rettifica", "reason": "Motivo", "amount": "Punti (+/-)",
           "history": "Versioni", "restore": "Ripristina", "preview": "Anteprima", "save": "Salva",
           "ledger": "Movimenti", "failed": "Consegne non riuscite", "replay": "Riprova", "reconciled": "Ultima riconciliazione",
           "no_changes": "Nessun cambiamento per i membri o gli ordini di esempio.", "saved": "Salvato come versione",
           "export": "Esporta"},
}

LAYOUT = """<!doctype html><html lang="{{ lang }}"><head><meta charset="utf-8"><title>Loyalty · {{ title }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{margin:0;font:14px/1.5 -apple-system,system-ui,sans-serif;background:#f1f2f4;color:#303030}
nav{background:#1a1a1a;padding:10px 24px;display:flex;gap:18px;align-items:center}nav a{color:#e3e3e3;text-decoration:none}
nav a.on{color:#fff;font-weight:600}main{max-width:1040px;margin:24px auto;padding:0 24px}
.card{background:#fff;border-radius:12px;box-shadow:0 1px 2px rgba(0,0,0,.12);padding:16px 20px;margin-bottom:16px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:16px}.big{font-size:24px;font-weight:650}
table{width:100%;border-collapse:collapse}td,th{text-align:left;padding:6px 8px;border-bottom:1px solid #e8e8e8}
button,.btn{background:#303030;color:#fff;border:0;border-radius:8px;padding:7px 14px;cursor:pointer;font:inherit;text-decoration:none}
input,textarea{font:inherit;padding:6px 8px;border:1px solid #c9cccf;border-radius:8px}textarea{width:100%;font:12px monospace}
.err{color:#8e1f0b;background:#fee9e8;border-radius:8px;padding:8px 12px}.ok{background:#e4f5ea;border-radius:8px;padding:8px 12px}
.muted{color:#616161}</style></head><body>
{% if shop %}<nav aria-label="main"><strong style="color:#fff">Loyalty</strong>
{% for key, url in [("dashboard", "admin_pages.dashboard"), ("members", "admin_pages.members"), ("program", "admin_pages.program"), ("operations", "admin_pages.operations")] %}
<a href="{{ url_for(url) }}" class="{{ 'on' if active == key else '' }}">{{ t[key] }}</a>{% endfor %}
<span style="margin-left:auto;color:#b5b5b5">{{ shop.name }}</span><a href="{{ url_for('admin_pages.logout') }}">{{ t.sign_out }}</a></nav>{% endif %}
<main>{{ body }}</main></body></html>"""


def _rt():
    return current_app.extensions["loyalty"]


def _shop():
    shop_id = session.get("admin_shop")
    shop = _rt().shops.get(shop_id) if shop_id else None
    return shop if shop is not None and shop.status == "installed" else None


def _lang(shop) -> str:
    wanted = request.args.get("lang") or session.get("admin_lang")
    if wanted in TEXTS:
        session["admin_lang"] = wanted
        return wanted
    locale = _rt().programs.for_reading(shop.id).program.widget.locale[:2] if shop else "en"
    return locale if locale in TEXTS else "en"


def _page(title: str, active: str, body: str, **ctx):
    shop = _shop()
    lang = _lang(shop)
    inner = render_template_string(body, t=TEXTS[lang], shop=shop, lang=lang, **ctx)  # csrf() via the context processor
    return render_template_string(LAYOUT, title=title, active=active, body=Markup(inner), t=TEXTS[lang],
                                  shop=shop, lang=lang)


def signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="admin-link")


@bp.before_request
def require_sign_in():
    if request.endpoint in ("admin_pages.login", "admin_pages.link"):
        return None
    if _shop() is None:
        return redirect(url_for("admin_pages.login"))
    token = session.get("csrf")
    if request.method == "POST" and (not token or request.form.get("csrf") != token):
        return _page("Forbidden", "", '<p class="err" role="alert">This form expired; reload the page.</p>'), 403
    return None


@bp.app_context_processor
def csrf_field():
    def field():
        if "csrf" not in session:
            session["csrf"] = secrets.token_urlsafe(24)
        return Markup(f'<input type="hidden" name="csrf" value="{session["csrf"]}">')
    return {"csrf": field}


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        shop = _rt().shops.by_api_key(request.form.get("key", "").strip())
        if shop is not None:
            session.clear()
            session["admin_shop"] = shop.id
            return redirect(url_for("admin_pages.dashboard"))
        error = "unknown key"
    return _page("Sign in", "", """<div class="card" style="max-width:420px;margin:60px auto">
      <h1>{{ t.sign_in }}</h1>{% if error %}<p class="err" role="alert">{{ error }}</p>{% endif %}
      <form method="post"><label for="key">{{ t.api_key }}</label><br>
      <input id="key" name="key" type="password" autocomplete="off" style="width:100%"><br><br>
      <button type="submit">{{ t.sign_in }}</button></form></div>""", error=error)


@bp.get("/link/<token>")
def link(token: str):
    try:
        shop_id = signer().loads(token, max_age=15 * 60)
    except BadSignature:
        return _page("Sign in", "", '<p class="err" role="alert">This link is not valid any more.</p>'), 401
    session.clear()
    session["admin_shop"] = int(shop_id)
    return redirect(url_for("admin_pages.dashboard"))


@bp.get("/logout")
def logout():
    session.clear()
    return redirect(url_for("admin_pages.login"))


def _charts(board: dict, t: dict) -> tuple[str, str]:
    style = pygal.style.Style(background="white", plot_background="white", colors=("#303030", "#2c6ecb", "#b98900"))
    line = pygal.Line(width=640, height=260, style=style, x_label_rotation=30, show_minor_x_labels=False,
                      title=t["per_day"], disable_xml_declaration=True)
    line.x_labels = [d["day"][5:] for d in board["daily"]]
    line.x_labels_major = line.x_labels[::7]
    line.add(t["points_issued"], [d["points_issued"] for d in board["daily"]])
    line.add(t["points_redeemed"], [d["points_redeemed"] for d in board["daily"]])
    bar = pygal.Bar(width=360, height=260, style=style, title=t["per_tier"], disable_xml_declaration=True)
    for tier, n in board["members"]["per_tier"].items():
        bar.add(tier, [n])
    return line.render(is_unicode=True), bar.render(is_unicode=True)


@bp.get("")
@bp.get("/dashboard")
def dashboard():
    shop = _shop()
    rt = _rt()
    rt.analytics.refresh()  # cheap when the job has kept up; exact for the merchant looking now
    end = rt.clock.now().date()
    board = rt.analytics.dashboard(shop.id, shop.currency, end - timedelta(days=29), end)
    line, bar = _charts(board, TEXTS[_lang(shop)])
    return _page("Dashboard", "dashboard", """<h1>{{ t.dashboard }}</h1><div class="grid">
      <div class="card"><div class="muted">{{ t.points_issued }}</div><div class="big">{{ b.points.issued }}</div></div>
      <div class="card"><div class="muted">{{ t.points_redeemed }}</div><div class="big">{{ b.points.redeemed }}</div></div>
      <div class="card"><div class="muted">{{ t.outstanding }}</div><div class="big">{{ b.points.outstanding }}</div></div>
      <div class="card"><div class="muted">{{ t.liability }}</div><div class="big">{{ b.liability.amount }} {{ b.liability.currency }}</div></div>
      <div class="card"><div class="muted">{{ t.redemption_rate }}</div><div class="big">{{ '%.1f%%' % (b.points.redemption_rate * 100) if b.points.redemption_rate is not none else '–' }}</div></div>
      </div><div class="grid"><div class="card chart" data-chart="daily">{{ line }}</div>
      <div class="card chart" data-chart="tiers">{{ bar }}</div></div>
      <p><a class="btn" href="{{ url_for('admin_api.analytics_csv', table='daily') }}">CSV</a></p>""",
                 b=board, line=Markup(line), bar=Markup(bar))


@bp.get("/members")
def members():
    shop = _shop()
    q = request.args.get("q", "").strip()
    found = []
    if q:
        rt = _rt()
        for member_id in rt.members.search(shop.id, q, 50):
            m, balance = rt.members.get(shop.id, member_id)
            found.append({"id": m.id, "email": m.email, "platform_customer_id": m.platform_customer_id,
                          "tier": m.tier, "points": balance.points})
    return _page("Members", "members", """<h1>{{ t.members }}</h1><form class="card" role="search">
      <input name="q" value="{{ q }}" aria-label="{{ t.search }}" placeholder="email or customer id"> <button>{{ t.search }}</button></form>
      {% if found %}<div class="card"><table><tr><th>Customer</th><th>Email</th><th>Tier</th><th>Points</th></tr>
      {% for m in found %}<tr><td><a href="{{ url_for('admin_pages.member', member_id=m.id) }}">{{ m.platform_customer_id }}</a></td>
      <td>{{ m.email or '' }}</td><td>{{ m.tier or '' }}</td><td>{{ m.points }}</td></tr>{% endfor %}</table></div>{% endif %}""",
                 q=q, found=found)


@bp.route("/members/<int:member_id>", methods=["GET", "POST"])
def member(member_id: int):
    shop = _shop()
    rt = _rt()
    message = error = None
    if request.method == "POST":
        try:
            amount = int(request.form.get("amount", "0"))
            rt.ledger.adjust(shop.id, member_id, "points", amount, key=f"admin-page:{request.form.get('nonce', '')}",
                             actor=f"admin-page:{session.get('admin_shop')}", reason=request.form.get("reason", ""))
            message = "ok"
        except (ValueError, DomainError) as exc:
            error = getattr(exc, "message", str(exc))
    try:
        m, balance = rt.members.get(shop.id, member_id)
    except DomainError:
        return _page("Member", "members", '<p class="err">No such member.</p>'), 404
    from ..storage.repos import LedgerRepo
    with rt.db.transaction() as conn:
        entries = LedgerRepo(conn, shop.id).entries(member_id, limit=100)
    import uuid
    return _page("Member", "members", """<h1>{{ m.platform_customer_id }} <span class="muted">{{ m.email or '' }}</span></h1>
      <div class="grid"><div class="card"><div class="muted">Points</div><div class="big" data-points>{{ b.points }}</div>
      <div class="muted">{{ b.pending_points }} pending</div></div><div class="card"><div class="muted">Tier</div><div class="big">{{ m.tier or '–' }}</div></div>
      <div class="card"><div class="muted">Store credit</div><div class="big">{{ b.credit.amount }} {{ b.credit.currency }}</div></div></div>
      <div class="card"><h2>{{ t.adjust }}</h2>{% if error %}<p class="err" role="alert">{{ error }}</p>{% endif %}
      {% if message %}<p class="ok" role="status">✓</p>{% endif %}
      <form method="post">{{ csrf() }}<input type="hidden" name="nonce" value="{{ nonce }}">
      <label>{{ t.amount }} <input name="amount" type="number" required></label>
      <label>{{ t.reason }} <input name="reason" required minlength="1" maxlength="500"></label> <button>{{ t.adjust }}</button></form>
      <p><a href="{{ url_for('admin_api.export_member', member_id=m.id) }}">{{ t.export }}</a></p></div>
      <div class="card"><h2>{{ t.ledger }}</h2><table><tr><th>When</th><th>What</th><th>Points</th><th>Credit</th><th>By</th></tr>
      {% for e in entries %}<tr><td>{{ e.created_at.strftime('%Y-%m-%d %H:%M') }}</td><td>{{ e.reason }}</td>
      <td>{{ e.points + e.points_pending }}</td><td>{{ e.credit + e.credit_pending if e.asset == 'credit' else '' }}</td><td>{{ e.actor or e.source }}</td></tr>{% endfor %}
      </table></div>""", m=m, b=balance, entries=entries, error=error, message=message, nonce=uuid.uuid4().hex)


@bp.route("/program", methods=["GET", "POST"])
def program():
    shop = _shop()
    rt = _rt()
    current = rt.programs.current(shop.id)
    text = request.form.get("document") or json.dumps(dump(current.program), indent=2)
    errors, preview, saved = [], None, None
    if request.method == "POST":
        try:
            document = json.loads(text)
            if request.form.get("action") == "save":
                saved = rt.programs.put(shop.id, document, author=f"admin-page:{shop.id}").version
                current = rt.programs.current(shop.id)
                text = json.dumps(dump(current.program), indent=2)
            else:
                preview = rt.change_preview.preview(shop.id, shop.currency, document)
        except json.JSONDecodeError as exc:
            errors = [{"field": f"line {exc.lineno}", "message": exc.msg}]
        except ProgramInvalid as exc:
            errors = exc.fields
    history = rt.programs.history(shop.id)
    return _page("Program", "program", """<h1>{{ t.program }} <span class="muted">v{{ version }}</span></h1>
      {% if saved %}<p class="ok" role="status">{{ t.saved }} {{ saved }}</p>{% endif %}
      {% if errors %}<div class="err" role="alert"><ul>{% for e in errors %}<li><code>{{ e.field }}</code>: {{ e.message }}</li>{% endfor %}</ul></div>{% endif %}
      {% if preview %}<div class="card" data-preview>{% if not preview.tier_moves and not preview.orders %}<p>{{ t.no_changes }}</p>{% endif %}
      <ul>{% for m in preview.tier_moves %}<li>{{ m.text }}</li>{% endfor %}{% for o in preview.orders %}<li>{{ o.text }}</li>{% endfor %}</ul></div>{% endif %}
      <form method="post" class="card">{{ csrf() }}<textarea name="document" rows="24" aria-label="{{ t.program }}">{{ text }}</textarea><p>
      <button name="action" value="preview">{{ t.preview }}</button> <button name="action" value="save">{{ t.save }}</button></p></form>
      <div class="card"><h2>{{ t.history }}</h2><table>{% for v in history %}<tr><td>v{{ v.version }}</td><td>{{ v.author }}</td>
      <td>{{ v.created_at[:16] }}</td><td>{{ v.note or '' }}</td><td>{% if v.version != version %}
      <form method="post" action="{{ url_for('admin_pages.restore', version=v.version) }}">{{ csrf() }}<button aria-label="{{ t.restore }} v{{ v.version }}">{{ t.restore }}</button></form>{% endif %}</td></tr>{% endfor %}
      </table></div>""", version=current.version, text=text, errors=errors, preview=preview, saved=saved, history=history)


@bp.post("/program/versions/<int:version>/restore")
def restore(version: int):
    shop = _shop()
    _rt().programs.restore(shop.id, version, author=f"admin-page:{shop.id}")
    return redirect(url_for("admin_pages.program"))


@bp.route("/operations", methods=["GET", "POST"])
def operations():
    shop = _shop()
    rt = _rt()
    if request.method == "POST":
        rt.inbox.replay(shop.id, int(request.form.get("id", "0")))
    from ..services.reconcile import sync_status

    sync = sync_status(rt.db, shop.id)
    return _page("Operations", "operations", """<h1>{{ t.operations }}</h1>
      <div class="card"><h2>{{ t.reconciled }}</h2><p>{{ sync.checked_at[:16] if sync and sync.checked_at else '–' }}
      {% if sync and sync.last_error %}<span class="err">{{ sync.last_error }}</span>{% endif %}</p></div>
      <div class="card"><h2>{{ t.failed }}</h2><table>{% for d in failed %}<tr><td>{{ d.topic }}</td><td>{{ d.received_at[:16] }}</td>
      <td>{{ d.reason }}</td><td><form method="post">{{ csrf() }}<input type="hidden" name="id" value="{{ d.id }}"><button>{{ t.replay }}</button></form></td></tr>
      {% else %}<tr><td class="muted">–</td></tr>{% endfor %}</table></div>""", sync=sync, failed=rt.inbox.failed(shop.id))

