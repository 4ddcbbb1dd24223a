"""The merchant's admin pages, server-rendered on top of the admin API's services. Sign-in: the
shop's admin API key, or a one-time link from `loyalty admin-link` (signed, 15 minutes). The
session cookie is Flask's signed cookie; every page is scoped to the signed-in shop."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from functools import cache
from pathlib import Path

from flask import Blueprint, current_app, g, redirect, render_template, render_template_string, request, session, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from markupsafe import Markup

from ... import i18n
from ...domain.money import amount_text, plain
from ...i18n import N_

bp = Blueprint("admin_pages", __name__, url_prefix="/admin")
STATIC = Path(__file__).resolve().parent.parent / "static"

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

def _rt():
    return current_app.extensions["loyalty"]


def _shop():
    shop_id = session.get("admin_shop")
    shop = _rt().shops.get(shop_id) if shop_id else None
    return shop if shop is not None and shop.status == "installed" else None


def _lang(shop) -> str:
    """The admin's language: asked for (?lang=, or Shopify's `locale` when embedded), remembered
    for the session, else the shop's default language."""
    wanted = request.args.get("lang") or request.args.get("locale")
    if wanted:
        session["admin_lang"] = i18n.locale_of(wanted)
    if session.get("admin_lang") in i18n.LOCALES:
        return session["admin_lang"]
    return i18n.locale_of(_rt().programs.for_reading(shop.id).program.widget.locale) if shop else i18n.DEFAULT


# The navigation, in the merchant's order of tasks; an entry shows once its page exists.
NAV = (
    ("home", "admin_pages.home", N_("Home")),
    ("earn", "admin_pages.earn", N_("Ways to earn")),
    ("redeem", "admin_pages.redeem", N_("Ways to redeem")),
    ("tiers", "admin_pages.tiers", N_("VIP tiers")),
    ("referrals", "admin_pages.referrals", N_("Referrals")),
    ("cashback", "admin_pages.cashback", N_("Cashback")),
    ("campaigns", "admin_pages.campaigns", N_("Campaigns")),
    ("emails", "admin_pages.emails", N_("E-mails")),
    ("members", "admin_pages.members", N_("Members")),
    ("analytics", "admin_pages.dashboard", N_("Analytics")),
    ("settings", "admin_pages.settings", N_("Settings")),
    ("operations", "admin_pages.operations", N_("Operations")),
)


def nav() -> list[dict]:
    t = i18n.current()
    return [{"key": key, "url": url_for(endpoint), "label": t.gettext(label)}
            for key, endpoint, label in NAV if endpoint in current_app.view_functions]


def static_url(name: str) -> str:
    """A static file's URL with its content hash, so it may be cached for a long time."""
    return url_for("static", filename=name, v=_digest(name))


@cache
def _digest(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


def _context(active: str, title: str) -> dict:
    shop = _shop()
    return dict(title=title, active=active, shop=shop, lang=i18n.current().locale,
                t=TEXTS.get(i18n.current().locale, TEXTS["en"]), num=plain, amt=amount_text,
                embedded=bool(session.get("embedded")), nav=nav() if shop else [],
                languages=[(code, i18n.language_name(code)) for code in i18n.LOCALES],
                api_key=_rt().settings.shopify_api_key or "", static_url=static_url)


def render(template: str, active: str, title: str, **ctx):
    """A page from a template file that extends admin/layout.html."""
    return render_template(template, **{**_context(active, title), **ctx})


def _page(title: str, active: str, body: str, **ctx):
    """A page whose body is an inline template (the older pages; new ones use `render`)."""
    base = _context(active, title)
    inner = render_template_string(body, **{**base, **ctx})  # csrf() via the context processor
    return render_template("admin/layout.html", **base, body=Markup(inner))


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

    from ..auth import shop_for_session

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
    """A strict Content-Security-Policy: our own scripts, styles and images only (no inline script
    or style); App Bridge from Shopify's CDN only when embedded. Pages may be framed only by the
    Shopify admin of the signed-in shop (embedded), else never."""
    embedded = session.get("embedded")
    shopify = " https://cdn.shopify.com" if embedded else ""
    frames = f"https://{embedded} https://admin.shopify.com" if embedded else "'none'"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self'{shopify}; style-src 'self'; img-src 'self' data:{shopify}; "
        f"connect-src 'self'{' https://*.shopify.com' if embedded else ''}; font-src 'self'; object-src 'none'; "
        f"base-uri 'none'; form-action 'self'; frame-ancestors {frames}")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


@bp.before_request
def set_locale():
    """Every text of this request in the admin's language (templates' `_()` and the views')."""
    g.admin_locale = i18n.enter(_lang(_shop()))


@bp.teardown_request
def reset_locale(_exc=None):
    token = g.pop("admin_locale", None)
    if token is not None:
        i18n.leave(token)


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
            return redirect(url_for("admin_pages.home"))
        error = "unknown key"
    return _page("Sign in", "", """<div class="card signin">
      <h1>{{ t.sign_in }}</h1>{% if error %}<p class="err" role="alert">{{ error }}</p>{% endif %}
      <form method="post"><label for="key">{{ t.api_key }}</label><br>
      <input id="key" name="key" type="password" autocomplete="off" class="wide"><br><br>
      <button type="submit">{{ t.sign_in }}</button></form></div>""", error=error)


LINK_MAX_AGE = 15 * 60


def make_link_token(shop_id: int) -> str:
    """A one-time sign-in token for the shop: signed, timed, and unique (a nonce), so two links
    made in the same second are two links."""
    return signer().dumps({"shop": int(shop_id), "nonce": secrets.token_urlsafe(12)})


@bp.get("/link/<token>")
def link(token: str):
    from ...services.links import OneTimeLinks

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
    return redirect(url_for("admin_pages.home"))


@bp.get("/logout")
def logout():
    session.clear()
    return redirect(url_for("admin_pages.login"))
