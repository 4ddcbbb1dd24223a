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

from ..domain import jsondepth
from ..domain.birthdays import show as show_birthday
from ..domain.errors import DomainError, VersionConflict
from ..domain.money import amount_text, plain
from ..services.program import ProgramInvalid, dump
from . import program_forms as forms

bp = Blueprint("admin_pages", __name__, url_prefix="/admin")

TEXTS = {
    "en": {"dashboard": "Dashboard", "members": "Members", "program": "Program", "operations": "Operations",
           "sign_in": "Sign in", "api_key": "Admin API key", "sign_out": "Sign out", "search": "Search",
           "points_issued": "Points issued", "points_redeemed": "Points redeemed", "outstanding": "Outstanding points",
           "liability": "Liability", "redemption_rate": "Redemption rate", "per_tier": "Members per tier",
           "per_day": "Points per day", "adjust": "Adjust", "reason": "Reason", "amount": "Points (+/-)",
           "history": "Versions", "restore": "Restore", "preview": "Preview", "save": "Save",
           "ledger": "Ledger", "failed": "Failed deliveries", "replay": "Replay", "reconciled": "Last reconciliation",
           "workers": "Workers", "worker_alive": "alive", "worker_silent": "silent since",
           "worker_states": {"working": "working", "reconnecting": "waiting for Redis", "starting": "starting", "stopped": "stopped"},
           "in_process": "Background jobs run inside this web process (no Redis configured).",
           "no_workers": "No worker has reported in the last day: start `loyalty worker`.",
           "no_changes": "Nothing changes for existing members or sample orders.", "saved": "Saved as version",
           "export": "Export", "notifications": "Notifications",
           "period": "Period", "from": "From", "to": "To", "show": "Show", "enrolled": "Members enrolled",
           "enrolment_rate": "Enrolment rate", "active": "Active members", "expired": "Points expired",
           "aov": "Average order value", "repeat": "Repeat purchase rate", "members_seg": "Members",
           "guests_seg": "Non-members", "with_redemptions": "Revenue from orders with redemptions",
           "cost": "Program cost", "touched": "Revenue touched", "per_cost": "Revenue per 1 of cost",
           "funnel": "Referral funnel", "enrolments_day": "Enrolments per day", "orders_day": "Orders per day",
           "revenue": "Net sales", "money": "Cost and revenue", "all_time": "all time",
           "d_enrolment": "joined ÷ (joined + first-time guest buyers)", "d_active": "earned or spent in the period",
           "d_repeat": "orders by customers who had ordered before", "d_cost": "points redeemed at their value + store credit spent",
           "d_liability": "outstanding points at their value + store credit", "orders": "Orders",
           "landings": "Landings", "sign_ups": "Sign-ups", "first_orders": "First orders", "rewards_issued": "Rewarded",
           "links_shared": "Links shared",
           "flagged": "Reward codes used by another customer", "flagged_help": "The owner's points stay held until you decide: charge the owner, or give the points back.",
           "owner": "Issued to", "used_by": "Used by", "order": "Order", "code": "Code", "held": "Held",
           "decision": "Decision", "commit": "Charge the owner", "release": "Give the points back", "decide": "Decide",
           "guest": "a guest", "decided": "Decided", "decided_by": "by", "decision_saved": "Decision saved",
           "birthday": "Birthday", "birthday_help": "YYYY-MM-DD, or --MM-DD without the year",},
    "it": {"dashboard": "Panoramica", "members": "Membri", "program": "Programma", "operations": "Operazioni",
           "sign_in": "Accedi", "api_key": "Chiave API admin", "sign_out": "Esci", "search": "Cerca",
           "points_issued": "Punti emessi", "points_redeemed": "Punti riscattati", "outstanding": "Punti in circolo",
           "liability": "Passività", "redemption_rate": "Tasso di riscatto", "per_tier": "Membri per livello",
           "per_day": "Punti al giorno", "adjust": "Rettifica", "reason": "Motivo", "amount": "Punti (+/-)",
           "history": "Versioni", "restore": "Ripristina", "preview": "Anteprima", "save": "Salva",
           "ledger": "Movimenti", "failed": "Consegne non riuscite", "replay": "Riprova", "reconciled": "Ultima riconciliazione",
           "workers": "Worker", "worker_alive": "attivo", "worker_silent": "in silenzio dal",
           "worker_states": {"working": "al lavoro", "reconnecting": "in attesa di Redis", "starting": "in avvio", "stopped": "fermato"},
           "in_process": "I lavori in background girano dentro questo processo web (Redis non configurato).",
           "no_workers": "Nessun worker si è fatto sentire nell'ultimo giorno: avvia `loyalty worker`.",
           "no_changes": "Nessun cambiamento per i membri o gli ordini di esempio.", "saved": "Salvato come versione",
           "export": "Esporta", "notifications": "Notifiche",
           "period": "Periodo", "from": "Dal", "to": "Al", "show": "Mostra", "enrolled": "Nuovi membri",
           "enrolment_rate": "Tasso di iscrizione", "active": "Membri attivi", "expired": "Punti scaduti",
           "aov": "Valore medio dell'ordine", "repeat": "Tasso di riacquisto", "members_seg": "Membri",
           "guests_seg": "Non membri", "with_redemptions": "Ricavi da ordini con riscatti",
           "cost": "Costo del programma", "touched": "Ricavi coinvolti", "per_cost": "Ricavi per 1 di costo",
           "funnel": "Imbuto dei referral", "enrolments_day": "Iscrizioni al giorno", "orders_day": "Ordini al giorno",
           "revenue": "Vendite nette", "money": "Costi e ricavi", "all_time": "da sempre",
           "d_enrolment": "iscritti ÷ (iscritti + ospiti al primo acquisto)", "d_active": "hanno guadagnato o speso nel periodo",
           "d_repeat": "ordini di clienti che avevano già ordinato", "d_cost": "punti riscattati al loro valore + credito speso",
           "d_liability": "punti in circolo al loro valore + credito", "orders": "Ordini",
           "landings": "Visite", "sign_ups": "Iscrizioni", "first_orders": "Primi ordini", "rewards_issued": "Premiati",
           "links_shared": "Link condivisi",
           "flagged": "Codici premio usati da un altro cliente", "flagged_help": "I punti del titolare restano bloccati finché non decidi: addebitarli al titolare o restituirli.",
           "owner": "Emesso per", "used_by": "Usato da", "order": "Ordine", "code": "Codice", "held": "Bloccati",
           "decision": "Decisione", "commit": "Addebita al titolare", "release": "Restituisci i punti", "decide": "Decidi",
           "guest": "un ospite", "decided": "Decisi", "decided_by": "da", "decision_saved": "Decisione salvata",
           "birthday": "Compleanno", "birthday_help": "AAAA-MM-GG, o --MM-GG senza l'anno",},
}

LAYOUT = """<!doctype html><html lang="{{ lang }}"><head><meta charset="utf-8"><title>Loyalty · {{ title }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
{% if embedded %}<meta name="shopify-api-key" content="{{ api_key }}"><script src="https://cdn.shopify.com/shopifycloud/app-bridge.js"></script>{% endif %}
<style>body{margin:0;font:14px/1.5 -apple-system,system-ui,sans-serif;background:#f1f2f4;color:#303030}
nav{background:#1a1a1a;padding:10px 24px;display:flex;gap:18px;align-items:center}nav a{color:#e3e3e3;text-decoration:none}
nav a.on{color:#fff;font-weight:600}main{max-width:1040px;margin:24px auto;padding:0 24px}
.card{background:#fff;border-radius:12px;box-shadow:0 1px 2px rgba(0,0,0,.12);padding:16px 20px;margin-bottom:16px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:16px}.big{font-size:24px;font-weight:650}
table{width:100%;border-collapse:collapse}td,th{text-align:left;padding:6px 8px;border-bottom:1px solid #e8e8e8}
button,.btn{background:#303030;color:#fff;border:0;border-radius:8px;padding:7px 14px;cursor:pointer;font:inherit;text-decoration:none}
input,textarea{font:inherit;padding:6px 8px;border:1px solid #c9cccf;border-radius:8px}textarea{width:100%;font:12px monospace}
.err{color:#8e1f0b;background:#fee9e8;border-radius:8px;padding:8px 12px}.ok{background:#e4f5ea;border-radius:8px;padding:8px 12px}
.muted{color:#616161}
.tabs{display:flex;flex-wrap:wrap;gap:6px;margin-bottom:16px}.tabs a{padding:6px 12px;border-radius:8px;background:#e3e3e3;color:#303030;text-decoration:none}
.tabs a.on{background:#303030;color:#fff}.fld{margin:8px 0;display:flex;flex-direction:column;max-width:420px}
.fld.chk{flex-direction:row;align-items:center;gap:6px}.fld label{font-weight:550}
fieldset{border:1px solid #e3e3e3;border-radius:10px;margin:10px 0;padding:8px 14px}legend{font-weight:650;padding:0 4px}
.row{background:#fafafa}.pair{display:inline-flex;gap:4px;align-items:center;margin-right:14px}
.ferr{color:#8e1f0b;margin:2px 0;font-size:13px}[aria-invalid=true]{border-color:#8e1f0b;background:#fff4f4}
button.secondary{background:#fff;color:#303030;border:1px solid #c9cccf}select{font:inherit;padding:5px 8px;border-radius:8px}</style></head><body>
{% if shop and embedded %}<ui-nav-menu>{% for key, url in nav %}
<a href="{{ url }}"{{ ' rel="home"'|safe if loop.first else '' }}>{{ t[key] }}</a>{% endfor %}</ui-nav-menu>
{% elif shop %}<nav aria-label="main"><strong style="color:#fff">Loyalty</strong>
{% for key, url in nav %}
<a href="{{ url }}" class="{{ 'on' if active == key else '' }}">{{ t[key] }}</a>{% endfor %}
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
    inner = render_template_string(body, t=TEXTS[lang], shop=shop, lang=lang, num=plain, amt=amount_text,
                                   **ctx)  # csrf() via the context processor
    return render_template_string(LAYOUT, title=title, active=active, body=Markup(inner), t=TEXTS[lang],
                                  shop=shop, lang=lang, embedded=bool(session.get("embedded")),
                                  nav=[("dashboard", url_for("admin_pages.dashboard")),
                                       ("members", url_for("admin_pages.members")),
                                       ("program", url_for("admin_pages.program_section", section="earning")),
                                       ("notifications", url_for("admin_pages.notifications")),
                                       ("operations", url_for("admin_pages.operations"))],
                                  api_key=_rt().settings.shopify_api_key or "")


def signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="admin-link")


PATCH_PATH = "/admin/session-token"


def _shopify_app():
    s = _rt().settings
    return (s.shopify_api_key, s.shopify_api_secret) if s.shopify_api_key and s.shopify_api_secret else None


def _embedded_sign_in():
    """A page load inside the Shopify admin carries an App Bridge id_token (or asks for one):
    verify it through the SDK, install the shop by token exchange if it is new, and sign the
    session in to that shop. Without a valid token the SDK's bounce fetches a fresh one."""
    from connectors.shopify import auth as shopify_auth

    from .auth import shop_for_session

    key, secret = _shopify_app()
    home = shopify_auth.verify_app_home(request.url, key, secret, _rt().settings.shopify_old_api_secret, PATCH_PATH)
    if home.session is None:
        return current_app.response_class(home.body, home.status, home.headers)
    try:
        shop = shop_for_session(home.session)
    except shopify_auth.AuthError as exc:
        return _page("Sign in", "", f'<p class="err" role="alert">{exc}</p>'), 401
    session.clear()
    session.update(admin_shop=shop.id, embedded=shop.domain, host=request.args.get("host", ""))
    return None


@bp.get("/session-token")
def session_token_page():
    """The SDK's patch page: App Bridge fetches an id_token and reloads the page it was sent from."""
    from connectors.shopify import auth as shopify_auth

    if _shopify_app() is None:
        return _page("Not found", "", '<p class="err">No Shopify app is configured.</p>'), 404
    status, body, headers = shopify_auth.patch_id_token_page(request.url, *_shopify_app())
    return current_app.response_class(body, status, headers)


@bp.after_request
def frame_policy(response):
    """Pages may be framed only by the Shopify admin of the signed-in shop (embedded), else never."""
    embedded = session.get("embedded")
    response.headers["Content-Security-Policy"] = (
        f"frame-ancestors https://{embedded} https://admin.shopify.com;" if embedded else "frame-ancestors 'none';")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


@bp.before_request
def require_sign_in():
    if request.endpoint in ("admin_pages.login", "admin_pages.link", "admin_pages.session_token_page"):
        return None
    if _shopify_app() and request.method == "GET" and (request.args.get("id_token") or request.args.get("embedded") == "1"):
        answer = _embedded_sign_in()
        if answer is not None:
            return answer
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


LINK_MAX_AGE = 15 * 60


def make_link_token(shop_id: int) -> str:
    """A one-time sign-in token for the shop: signed, timed, and unique (a nonce), so two links
    made in the same second are two links."""
    return signer().dumps({"shop": int(shop_id), "nonce": secrets.token_urlsafe(12)})


@bp.get("/link/<token>")
def link(token: str):
    from ..services.links import OneTimeLinks

    invalid = _page("Sign in", "", '<p class="err" role="alert">This link is not valid any more.</p>'), 401
    try:
        payload, signed_at = signer().loads(token, max_age=LINK_MAX_AGE, return_timestamp=True)
        shop_id = int(payload["shop"] if isinstance(payload, dict) else payload)
    except (BadSignature, KeyError, TypeError, ValueError):
        return invalid
    rt = _rt()
    if rt.shops.get(shop_id) is None:
        return invalid
    if not OneTimeLinks(rt.db, rt.clock).use(token, shop_id, signed_at + timedelta(seconds=LINK_MAX_AGE)):
        return _page("Sign in", "", '<p class="err" role="alert">This link was already used. '
                                    'Run <code>loyalty admin-link</code> for a new one.</p>'), 401
    session.clear()
    session["admin_shop"] = shop_id
    return redirect(url_for("admin_pages.dashboard"))


@bp.get("/logout")
def logout():
    session.clear()
    return redirect(url_for("admin_pages.login"))


def _charts(board: dict, t: dict) -> dict[str, str]:
    """Every chart of the dashboard, drawn by pygal as inline SVG."""
    style = pygal.style.Style(background="white", plot_background="white", font_family="system-ui, sans-serif",
                              colors=("#303030", "#2c6ecb", "#b98900", "#8e1f0b", "#1a7f37"))
    common = dict(style=style, disable_xml_declaration=True, legend_at_bottom=True, height=280)
    charts = {}

    def days(rows):
        labels = [d["day"][5:] for d in rows]
        return labels, labels[::max(1, len(labels) // 8)]

    line = pygal.Line(width=560, title=t["per_day"], x_label_rotation=30, show_minor_x_labels=False, **common)
    line.x_labels, line.x_labels_major = days(board["daily"])
    line.add(t["points_issued"], [d["points_issued"] for d in board["daily"]])
    line.add(t["points_redeemed"], [d["points_redeemed"] for d in board["daily"]])
    line.add(t["expired"], [d["points_expired"] for d in board["daily"]])
    charts["daily"] = line

    orders = pygal.StackedBar(width=560, title=t["orders_day"], x_label_rotation=30, show_minor_x_labels=False, **common)
    orders.x_labels, orders.x_labels_major = days(board["daily_orders"])
    orders.add(t["members_seg"], [d["member_orders"] for d in board["daily_orders"]])
    orders.add(t["guests_seg"], [d["guest_orders"] for d in board["daily_orders"]])
    charts["orders"] = orders

    enrol = pygal.Bar(width=560, title=t["enrolments_day"], x_label_rotation=30, show_minor_x_labels=False, **common)
    enrol.x_labels, enrol.x_labels_major = days(board["daily_enrolments"])
    enrol.add(t["enrolled"], [d["members"] for d in board["daily_enrolments"]])
    charts["enrolments"] = enrol

    tiers = pygal.Bar(width=560, title=t["per_tier"], **common)
    for tier, n in board["members"]["per_tier"].items():
        tiers.add(tier, [n])
    charts["tiers"] = tiers

    seg = board["orders"]
    aov = pygal.Bar(width=560, title=t["aov"], **common)
    for label, key in ((t["members_seg"], "members"), (t["guests_seg"], "non_members")):
        value = seg[key]["average_order_value"]
        aov.add(label, [float(value["amount"]) if value else None])
    charts["aov"] = aov

    repeat = pygal.Bar(width=560, title=t["repeat"], range=(0, 100), **common)
    for label, key in ((t["members_seg"], "members"), (t["guests_seg"], "non_members")):
        rate = seg[key]["repeat_purchase_rate"]
        repeat.add(label, [round(rate * 100, 1) if rate is not None else None])
    charts["repeat"] = repeat

    money = pygal.HorizontalBar(width=560, title=t["money"], **common)
    money.add(t["cost"], [float(board["program"]["cost"]["amount"])])
    money.add(t["touched"], [float(board["program"]["revenue_touched"]["amount"])])
    money.add(t["with_redemptions"], [float(seg["with_redemptions"]["revenue"]["amount"])])
    charts["money"] = money

    funnel = board["referrals"] or {}
    steps = [k for k in ("links_shared", "landings", "sign_ups", "first_orders", "rewards_issued") if k in funnel]
    ref = pygal.HorizontalBar(width=560, title=f'{t["funnel"]} ({t["all_time"]})', **common)
    for k in steps:
        ref.add(t[k], [funnel[k]])
    charts["referrals"] = ref
    return {k: c.render(is_unicode=True) for k, c in charts.items()}


@bp.get("")
@bp.get("/dashboard")
def dashboard():
    from ..services.analytics import parse_period

    shop = _shop()
    rt = _rt()
    rt.analytics.refresh()  # cheap when the job has kept up; exact for the merchant looking now
    today = rt.clock.now().date()
    error = None
    try:
        start, end = parse_period(request.args.get("from"), request.args.get("to"), today)
    except DomainError as exc:
        error, end, start = exc.message, today, today - timedelta(days=29)
    board = rt.analytics.dashboard(shop.id, shop.currency, start, end)
    t = TEXTS[_lang(shop)]
    charts = _charts(board, t)
    pct = lambda x: "–" if x is None else "%.1f%%" % (x * 100)  # noqa: E731
    return _page("Dashboard", "dashboard", """<h1>{{ t.dashboard }}</h1>
      <form class="card" method="get" aria-label="{{ t.period }}"><label>{{ t.from }} <input type="date" name="from" value="{{ start }}"></label>
      <label>{{ t.to }} <input type="date" name="to" value="{{ end }}"></label> <button>{{ t.show }}</button>
      {% for n in (7, 30, 90, 365) %} <a href="?from={{ (end_d - delta(days=n - 1)).isoformat() }}&to={{ end }}">{{ n }}d</a>{% endfor %}
      {% if error %}<p class="err" role="alert">{{ error }}</p>{% endif %}</form>
      <div class="grid">
      {% for label, value, note in kpis %}<div class="card"><div class="muted">{{ label }}</div><div class="big">{{ value }}</div>
      {% if note %}<div class="muted" style="font-size:12px">{{ note }}</div>{% endif %}</div>{% endfor %}
      </div>
      <div class="grid" style="grid-template-columns:repeat(auto-fit,minmax(400px,1fr))">
      {% for name, svg in charts.items() %}<div class="card chart" data-chart="{{ name }}">{{ svg }}</div>{% endfor %}</div>
      <div class="card"><h2>CSV</h2>{% for table in tables %}<a class="btn" style="margin-right:6px" href="{{ url_for('admin_api.analytics_csv', table=table, **{'from': start, 'to': end}) }}">{{ table }}.csv</a>{% endfor %}</div>""",
                 start=start.isoformat(), end=end.isoformat(), end_d=end, delta=timedelta, error=error,
                 charts={k: Markup(v) for k, v in charts.items()}, tables=rt.analytics.TABLES,
                 kpis=[
                     (t["enrolled"], board["members"]["enrolled_in_period"], None),
                     (t["enrolment_rate"], pct(board["members"]["enrolment_rate"]), t["d_enrolment"]),
                     (t["active"], board["members"]["active_in_period"], t["d_active"]),
                     (t["points_issued"], board["points"]["issued"], None),
                     (t["points_redeemed"], board["points"]["redeemed"], None),
                     (t["expired"], board["points"]["expired"], None),
                     (t["outstanding"], board["points"]["outstanding"], None),
                     (t["liability"], f'{board["liability"]["amount"]} {board["liability"]["currency"]}', t["d_liability"]),
                     (t["redemption_rate"], pct(board["points"]["redemption_rate"]), None),
                     (t["with_redemptions"], f'{board["orders"]["with_redemptions"]["revenue"]["amount"]} {shop.currency}', None),
                     (t["cost"], f'{board["program"]["cost"]["amount"]} {shop.currency}', t["d_cost"]),
                     (t["per_cost"], board["program"]["revenue_per_cost"] or "–", t["touched"]),
                     (t["repeat"] + " · " + t["members_seg"], pct(board["orders"]["members"]["repeat_purchase_rate"]), t["d_repeat"]),
                     (t["repeat"] + " · " + t["guests_seg"], pct(board["orders"]["non_members"]["repeat_purchase_rate"]), t["d_repeat"]),
                 ])


@bp.get("/members")
def members():
    shop = _shop()
    q = request.args.get("q", "").strip()
    found = []
    if q:
        rt = _rt()
        for member_id in rt.members.search(shop.id, q, 50):
            m, balance = rt.members.get(shop.id, member_id)
            found.append({"id": m.id, "email": m.email, "name": m.name, "platform_customer_id": m.platform_customer_id,
                          "tier": m.tier, "points": balance.points})
    return _page("Members", "members", """<h1>{{ t.members }}</h1><form class="card" role="search">
      <input name="q" value="{{ q }}" aria-label="{{ t.search }}" placeholder="email, name or customer id"> <button>{{ t.search }}</button></form>
      {% if found %}<div class="card"><table><tr><th>Customer</th><th>Name</th><th>Email</th><th>Tier</th><th>Points</th></tr>
      {% for m in found %}<tr><td><a href="{{ url_for('admin_pages.member', member_id=m.id) }}">{{ m.platform_customer_id }}</a></td>
      <td>{{ m.name or '' }}</td><td>{{ m.email or '' }}</td><td>{{ m.tier or '' }}</td><td>{{ m.points }}</td></tr>{% endfor %}</table></div>{% endif %}""",
                 q=q, found=found)


@bp.route("/members/<int:member_id>", methods=["GET", "POST"])
def member(member_id: int):
    shop = _shop()
    rt = _rt()
    message = error = None
    if request.method == "POST" and "birthday" in request.form:
        try:  # the merchant corrects a birthday: recorded with who and when
            current, _ = rt.members.get(shop.id, member_id)
            rt.members.set_birthday(shop.id, current.platform_customer_id, request.form.get("birthday", ""),
                                    source="merchant", actor=f"admin-page:{session.get('admin_shop')}")
            message = "ok"
        except DomainError as exc:
            error = exc.message
    elif request.method == "POST":
        try:
            amount = int(request.form.get("amount", "0"))
            rt.adjustments.adjust(shop.id, member_id, "points", amount, key=f"admin-page:{request.form.get('nonce', '')}",
                                  actor=f"admin-page:{session.get('admin_shop')}", reason=request.form.get("reason", ""))
            message = "ok"
        except (ValueError, DomainError) as exc:
            error = getattr(exc, "message", str(exc))
    try:
        m, balance = rt.members.get(shop.id, member_id)
    except DomainError:
        return _page("Member", "members", '<p class="err">No such member.</p>'), 404
    entries = rt.ledger.entries(shop.id, member_id, limit=200)
    import uuid
    return _page("Member", "members", """<h1>{{ m.name or m.platform_customer_id }} <span class="muted">{{ m.email or '' }} · {{ m.platform_customer_id }}</span></h1>
      <div class="grid"><div class="card"><div class="muted">Points</div><div class="big" data-points>{{ b.points }}</div>
      <div class="muted">{{ b.pending_points }} pending · {{ b.held_points }} held</div></div>
      <div class="card"><div class="muted">Tier</div><div class="big">{{ m.tier or '–' }}</div>
      <div class="muted">{{ 'since ' ~ m.tier_since.strftime('%Y-%m-%d') if m.tier_since else '' }}</div></div>
      <div class="card"><div class="muted">Store credit</div><div class="big">{{ amt(b.credit.amount, b.credit.currency) }} {{ b.credit.currency }}</div></div>
      <div class="card" data-referrals><div class="muted">Referrals</div><div class="big">{{ refs.referred|length }}</div>
      <div class="muted">{{ 'code ' ~ refs.code if refs.code else 'no code yet' }}{% if refs.referred_by %} · referred by member
      <a href="{{ url_for('admin_pages.member', member_id=refs.referred_by.referrer_member_id) }}">#{{ refs.referred_by.referrer_member_id }}</a>
      ({{ refs.referred_by.status }}){% endif %}</div></div></div>
      {% if refs.referred %}<div class="card"><h2>Referred friends</h2><table><tr><th>Friend</th><th>Status</th><th>Order</th><th>Why</th></tr>
      {% for r in refs.referred %}<tr><td><a href="{{ url_for('admin_pages.member', member_id=r.friend_member_id) }}">#{{ r.friend_member_id }}</a></td>
      <td>{{ r.status }}</td><td>{{ r.order_id or '' }}</td><td>{{ r.reason or '' }}</td></tr>{% endfor %}</table></div>{% endif %}
      <div class="card"><h2>{{ t.adjust }}</h2>{% if error %}<p class="err" role="alert">{{ error }}</p>{% endif %}
      {% if message %}<p class="ok" role="status">✓</p>{% endif %}
      <form method="post">{{ csrf() }}<input type="hidden" name="nonce" value="{{ nonce }}">
      <label>{{ t.amount }} <input name="amount" type="number" required></label>
      <label>{{ t.reason }} <input name="reason" required minlength="1" maxlength="500"></label> <button>{{ t.adjust }}</button></form>
      <p><a href="{{ url_for('admin_api.export_member', member_id=m.id) }}">{{ t.export }}</a></p></div>
      <div class="card" data-birthday><h2>{{ t.birthday }}</h2>
      <form method="post">{{ csrf() }}<label>{{ t.birthday }} <input name="birthday" value="{{ bday or '' }}"
      placeholder="1990-03-01" required maxlength="10" aria-describedby="bday-help"></label> <button>{{ t.save }}</button>
      <span id="bday-help" class="muted">{{ t.birthday_help }}</span></form>
      {% if bday_changes %}<table><tr><th>When</th><th>From</th><th>To</th><th>By</th></tr>{% for c in bday_changes %}
      <tr><td>{{ c.at[:16].replace('T', ' ') }}</td><td>{{ c.old or '–' }}</td><td>{{ c.new }}</td><td>{{ c.actor or c.source }} ({{ c.source }})</td></tr>
      {% endfor %}</table>{% endif %}</div>
      <div class="card"><h2>{{ t.ledger }}</h2><table><tr><th>When</th><th>What and why</th><th>Points</th><th>Credit</th><th>By</th></tr>
      {% for e in entries %}<tr><td>{{ e.created_at.strftime('%Y-%m-%d %H:%M') }}</td><td><strong>{{ e.kind }}</strong> {{ e.reason }}
      {% if e.details and e.details.notes %}<ul class="muted" style="margin:2px 0">{% for n in e.details.notes %}<li>{{ n }}</li>{% endfor %}</ul>{% endif %}
      {% if e.program_version %}<span class="muted">program v{{ e.program_version }}</span>{% endif %}</td>
      <td>{{ e.points + e.points_pending if e.asset == 'points' else '' }}{{ ' (pending)' if e.points_pending else '' }}</td>
      <td>{{ amt(e.credit + e.credit_pending, b.credit.currency) if e.asset == 'credit' else '' }}</td><td>{{ e.actor or e.source }}</td></tr>{% endfor %}
      </table></div>""", m=m, b=balance, entries=entries, error=error, message=message, nonce=uuid.uuid4().hex,
                 refs=rt.referrals.for_member(shop.id, member_id), bday=show_birthday(m.birthday),
                 bday_changes=rt.members.birthday_changes(shop.id, member_id))


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


@bp.route("/operations", methods=["GET", "POST"])
def operations():
    shop = _shop()
    rt = _rt()
    replayed = decided = error = None
    if request.method == "POST" and request.form.get("action") == "decide":
        try:
            rt.cart.decide(shop.id, int(request.form.get("redemption_id", "0") or 0),
                           decision=request.form.get("decision", ""), reason=request.form.get("reason", ""),
                           actor=f"admin-page:{shop.id}")
            decided = True
        except (ValueError, DomainError) as exc:
            error = getattr(exc, "message", str(exc))
    elif request.method == "POST":
        replayed = rt.inbox.replay(shop.id, int(request.form.get("id", "0") or 0))
    from ..services.reconcile import sync_status

    sync = sync_status(rt.db, shop.id)
    flagged = rt.cart.flagged(shop.id)
    return _page("Operations", "operations", """<h1>{{ t.operations }}</h1>
      {% if replayed %}<p class="ok" role="status">{{ t.replay }}: {{ replayed }}</p>{% endif %}
      {% if decided %}<p class="ok" role="status">{{ t.decision_saved }}</p>{% endif %}
      {% if error %}<p class="err" role="alert">{{ error }}</p>{% endif %}
      <div class="card" data-flagged><h2>{{ t.flagged }}</h2><p class="muted">{{ t.flagged_help }}</p>
      <table><tr><th>{{ t.code }}</th><th>{{ t.owner }}</th><th>{{ t.used_by }}</th><th>{{ t.order }}</th><th>{{ t.held }}</th><th>{{ t.decision }}</th></tr>
      {% for r in flagged %}<tr><td>{{ r.code }}</td>
      <td><a href="{{ url_for('admin_pages.member', member_id=r.member_id) }}">{{ r.owner_customer_id }}</a> <span class="muted">{{ r.owner_email or '' }}</span></td>
      <td>{{ r.used_by_customer_id or t.guest }}</td><td>{{ r.order_id or '' }}</td><td>{{ r.amount }} {{ r.asset }}</td>
      <td>{% if r.status == 'flagged' %}<form method="post">{{ csrf() }}<input type="hidden" name="action" value="decide">
      <input type="hidden" name="redemption_id" value="{{ r.id }}">
      <select name="decision" aria-label="{{ t.decision }}"><option value="commit">{{ t.commit }}</option><option value="release">{{ t.release }}</option></select>
      <input name="reason" required minlength="1" maxlength="500" placeholder="{{ t.reason }}" aria-label="{{ t.reason }}">
      <button>{{ t.decide }}</button></form>
      {% else %}{{ t.commit if r.decision == 'commit' else t.release }} · {{ t.decided_by }} {{ r.decided_by }} · {{ r.decided_at[:16] }}
      <div class="muted">{{ r.reason }}</div>{% endif %}</td></tr>
      {% else %}<tr><td class="muted" colspan="6">–</td></tr>{% endfor %}</table></div>
      <div class="card"><h2>{{ t.reconciled }}</h2><p>{{ sync.checked_at[:16] if sync and sync.checked_at else '–' }}
      {% if sync and sync.last_error %}<span class="err">{{ sync.last_error }}</span>{% endif %}</p></div>
      <div class="card" data-workers><h2>{{ t.workers }}</h2>
      {% if workers is none %}<p class="muted">{{ t.in_process }}</p>
      {% elif not workers %}<p class="err">{{ t.no_workers }}</p>
      {% else %}<table>{% for w in workers %}<tr><td>{{ w.host }} · {{ w.pid }}</td>
      <td>{% if w.alive %}<span class="ok">{{ t.worker_alive }}</span>, {{ t.worker_states.get(w.state, w.state) }}{% else %}<span class="muted">{{ t.worker_states.get(w.state, w.state) if w.state == 'stopped' else t.worker_silent }} {{ w.last_seen[:16] }}</span>{% endif %}
      {% if w.detail %}<div class="muted" style="font-size:12px">{{ w.detail }}</div>{% endif %}</td></tr>{% endfor %}</table>{% endif %}</div>
      <div class="card"><h2>{{ t.failed }}</h2><table><tr><th>Topic</th><th>Received</th><th>Attempts</th><th>Reason</th><th></th></tr>
      {% for d in failed %}<tr><td>{{ d.topic }}</td><td>{{ d.received_at[:16] }}</td><td>{{ d.attempts }}</td>
      <td>{{ d.reason }}<div class="muted" style="font-size:12px">{{ d.error }}</div></td><td><form method="post">{{ csrf() }}<input type="hidden" name="id" value="{{ d.id }}"><button>{{ t.replay }}</button></form></td></tr>
      {% else %}<tr><td class="muted" colspan="5">–</td></tr>{% endfor %}</table></div>
      <div class="card"><h2>Redemptions the platform refused</h2><table><tr><th>When</th><th>Member</th><th>Reward</th><th>Reason</th></tr>
      {% for r in refused %}<tr><td>{{ r.at[:16] }}</td><td><a href="{{ url_for('admin_pages.member', member_id=r.member_id) }}">#{{ r.member_id }}</a></td>
      <td>{{ r.reward_id or 'store credit' }} ({{ r.amount }} {{ r.asset }}, returned)</td><td>{{ r.reason }}</td></tr>
      {% else %}<tr><td class="muted" colspan="4">–</td></tr>{% endfor %}</table></div>""",
                 sync=sync, failed=rt.inbox.failed(shop.id), refused=rt.cart.failed(shop.id), replayed=replayed,
                 flagged=flagged, decided=decided, error=error, workers=_workers(rt))


def _workers(rt) -> list[dict] | None:
    """Worker heartbeats (None: jobs run in this process, there are no workers to show)."""
    if rt.settings.jobs_mode != "rq":
        return None
    from ..services.workers import Heartbeats

    return Heartbeats(rt.db, rt.clock).recent()


@bp.route("/notifications", methods=["GET", "POST"])
def notifications():
    """Shopper emails (a preview of each, in English or Italian; wording in the Emails settings),
    the merchant's webhook endpoints, and the delivery log with replay."""
    from ..domain import notifications as N
    from ..services.notify import WEBHOOK_TOPICS

    shop = _shop()
    rt = _rt()
    lang = request.args.get("preview", "en") if request.args.get("preview") in ("en", "it") else "en"
    message = error = created = None
    if request.method == "POST":
        action = request.form.get("action")
        try:
            if action == "add":
                url = request.form.get("url", "").strip()
                if not url.startswith("https://"):
                    raise DomainError("the endpoint must be an https URL")
                created = rt.notifier.add_endpoint(shop.id, url, request.form.getlist("topics"),
                                                   "whsec_" + secrets.token_urlsafe(24))
            elif action == "remove":
                rt.notifier.remove_endpoint(shop.id, int(request.form.get("id", "0") or 0))
                message = "disabled"
            elif action == "replay":
                rt.notifier.replay(shop.id, int(request.form.get("id", "0") or 0))
                message = "queued again"
        except DomainError as exc:
            error = exc.message
    previews = [rt.notifier.preview(shop.id, kind, lang) for kind in N.KINDS]
    return _page("Notifications", "notifications", """<h1>{{ t.notifications }}</h1>
      {% if error %}<p class="err" role="alert">{{ error }}</p>{% endif %}{% if message %}<p class="ok" role="status">{{ message }}</p>{% endif %}
      <div class="card"><h2>Shopper emails</h2><p class="muted">Switch each on or off and reword it in
      <a href="{{ url_for('admin_pages.program_section', section='emails') }}">Program › Emails</a>. Preview in
      <a href="?preview=en">English</a> · <a href="?preview=it">Italiano</a>.</p>
      {% for p in previews %}<details data-email="{{ p.kind }}"><summary><strong>{{ p.kind.replace('_', ' ') }}</strong>
      {{ '' if p.enabled else '(off)' }} — {{ p.subject }}</summary><pre style="white-space:pre-wrap">{{ p.body }}</pre></details>{% endfor %}</div>
      <div class="card"><h2>Webhooks</h2>{% if created %}<p class="ok" role="status">Endpoint added. Its signing secret, shown once:
      <code data-secret>{{ created.secret }}</code></p>{% endif %}
      <table><tr><th>URL</th><th>Topics</th><th></th></tr>{% for e in endpoints %}<tr><td>{{ e.url }}</td><td>{{ e.topics|join(', ') }}</td>
      <td>{% if e.active %}<form method="post">{{ csrf() }}<input type="hidden" name="id" value="{{ e.id }}"><button name="action" value="remove" class="secondary">Disable</button></form>{% else %}disabled{% endif %}</td></tr>
      {% else %}<tr><td class="muted" colspan="3">–</td></tr>{% endfor %}</table>
      <form method="post" style="margin-top:10px">{{ csrf() }}<div class="fld"><label for="url">Endpoint URL (https)</label><input id="url" name="url" required></div>
      {% for topic in topics %}<label class="pair"><input type="checkbox" name="topics" value="{{ topic }}" checked> {{ topic }}</label>{% endfor %}
      <p><button name="action" value="add">Add endpoint</button></p></form>
      <p class="muted" style="font-size:12px">Each delivery is a POST of JSON with X-Loyalty-Event-Id (the same on every retry),
      X-Loyalty-Topic, X-Loyalty-Timestamp and X-Loyalty-Signature: sha256=hex(HMAC-SHA256(secret, timestamp + "." + body)).</p></div>
      <div class="card"><h2>Delivery log</h2><table><tr><th>When</th><th>Channel</th><th>Topic</th><th>To</th><th>State</th><th>Attempts</th><th></th></tr>
      {% for d in log %}<tr><td>{{ d.created_at[:16] }}</td><td>{{ d.channel }}</td><td>{{ d.topic }}</td><td>{{ d.recipient }}</td>
      <td>{{ d.state }}{% if d.last_error %}<div class="muted" style="font-size:12px">{{ d.last_error }}</div>{% endif %}</td><td>{{ d.attempts }}</td>
      <td>{% if d.state in ('failed', 'sent') %}<form method="post">{{ csrf() }}<input type="hidden" name="id" value="{{ d.id }}"><button name="action" value="replay" class="secondary">{{ t.replay }}</button></form>{% endif %}</td></tr>
      {% else %}<tr><td class="muted" colspan="7">–</td></tr>{% endfor %}</table></div>""",
                 previews=previews, endpoints=rt.notifier.endpoints(shop.id), topics=WEBHOOK_TOPICS,
                 log=rt.notifier.log(shop.id, limit=100), created=created, error=error, message=message)
