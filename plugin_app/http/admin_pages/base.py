"""The merchant's admin pages, server-rendered on top of the admin API's services. Sign-in: the
shop's admin API key, the Shopify admin's session token when embedded, or a one-time link from
`loyalty admin-link` (signed, 15 minutes). The session cookie is Flask's signed cookie; every page
is scoped to the signed-in shop. Pages are template files (templates/admin/) in the admin's
language; styles and scripts are static files under a strict Content-Security-Policy."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from functools import cache
from pathlib import Path

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from markupsafe import Markup

from ... import i18n
from ...i18n import N_
from ...i18n import gettext as _

bp = Blueprint("admin_pages", __name__, url_prefix="/admin")
STATIC = Path(__file__).resolve().parent.parent / "static"


def _rt():
    return current_app.extensions["loyalty"]


def _shop():
    """The signed-in shop, read once per request (the locale, the sign-in check, the view and
    the layout all ask); read again if the session signs in to another shop meanwhile."""
    shop_id = session.get("admin_shop")
    seen = g.get("admin_shop_row")
    if seen is not None and seen[0] == shop_id:
        return seen[1]
    shop = _rt().shops.get(shop_id) if shop_id else None
    shop = shop if shop is not None and shop.status == "installed" else None
    g.admin_shop_row = (shop_id, shop)
    return shop


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
    ("badges", "admin_pages.badges", N_("Badges & challenges")),
    ("engagement", "admin_pages.engagement", N_("Leaderboard & survey")),
    ("emails", "admin_pages.emails", N_("E-mails")),
    ("members", "admin_pages.members", N_("Members")),
    ("segments", "admin_pages.segments", N_("Segments")),
    ("imports", "admin_pages.imports", N_("Import")),
    ("analytics", "admin_pages.dashboard", N_("Analytics")),
    ("finance", "admin_pages.finance", N_("Finance")),
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
                embedded=bool(session.get("embedded")), nav=nav() if shop else [],
                languages=[(code, i18n.language_name(code)) for code in i18n.LOCALES],
                api_key=_rt().settings.shopify_api_key or "", static_url=static_url)


def render(template: str, active: str, title: str, **ctx):
    """A page from a template file that extends admin/layout.html."""
    return render_template(template, **{**_context(active, title), **ctx})


def message(status: int, heading: str, text: str, hint: str = "", critical: bool = True):
    """A page that only says something (an error, a notice), in the admin's language."""
    return render("admin/message.html", "", heading, heading=heading, message=text, hint=hint, critical=critical), status


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
        return message(401, _("Sign in"), _("Shopify did not confirm this shop: %(reason)s", reason=str(exc)))
    session.clear()
    session.update(admin_shop=shop.id, embedded=shop.domain, host=request.args.get("host", ""))
    return None


@bp.get("/session-token")
def session_token_page():
    """The SDK's patch page: App Bridge fetches an id_token and reloads the page it was sent from."""
    from connectors.shopify import auth as shopify_auth

    if _shopify_app() is None:
        return message(404, _("Not found"), _("No Shopify app is configured."))
    status, body, headers = shopify_auth.patch_id_token_page(request.url, *_shopify_app())
    return current_app.response_class(body, status, headers)


@bp.after_request
def frame_policy(response):
    """A strict Content-Security-Policy: our own scripts, styles and images only (no inline script
    or style); App Bridge from Shopify's CDN only when embedded. Pages may be framed only by the
    Shopify admin of the signed-in shop (embedded), else never. A view that sets a policy of its
    own keeps it (the e-mail preview, shown in a sandboxed frame of our pages)."""
    if "Content-Security-Policy" in response.headers:
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response
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
        return message(403, _("Form expired"), _("This form expired; reload the page."))
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
        error = _("No shop has this key.")
    return render("admin/login.html", "", _("Sign in"), error=error)


LINK_MAX_AGE = 15 * 60


def make_link_token(shop_id: int) -> str:
    """A one-time sign-in token for the shop: signed, timed, and unique (a nonce), so two links
    made in the same second are two links."""
    return signer().dumps({"shop": int(shop_id), "nonce": secrets.token_urlsafe(12)})


@bp.get("/link/<token>")
def link(token: str):
    from ...services.links import OneTimeLinks

    invalid = message(401, _("Sign in"), _("This link is not valid any more."),
                      _("Run `loyalty admin-link` for a new one."))
    try:
        payload, signed_at = signer().loads(token, max_age=LINK_MAX_AGE, return_timestamp=True)
        shop_id = int(payload["shop"] if isinstance(payload, dict) else payload)
    except (BadSignature, KeyError, TypeError, ValueError):
        return invalid
    rt = _rt()
    if rt.shops.get(shop_id) is None:
        return invalid
    if not OneTimeLinks(rt.db, rt.clock).use(token, shop_id, signed_at + timedelta(seconds=LINK_MAX_AGE)):
        return message(401, _("Sign in"), _("This link was already used."), _("Run `loyalty admin-link` for a new one."))
    session.clear()
    session["admin_shop"] = shop_id
    return redirect(url_for("admin_pages.home"))


@bp.get("/logout")
def logout():
    session.clear()
    return redirect(url_for("admin_pages.login"))
