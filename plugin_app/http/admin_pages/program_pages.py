"""The program's pages, one per merchant task: home (status and launch checklist), ways to earn,
ways to redeem, VIP tiers, referrals, cashback, campaigns, settings, and the versions with their
differences in words and a restore that asks first. Each page previews what changes for whom
and saves a new version, refused if someone saved in between (the version the form was read at).

The JSON editor stays at /admin/program as an advanced tool, linked from the history page."""
from __future__ import annotations

import json

from flask import abort, redirect, request, url_for

from ... import i18n
from ...domain import jsondepth
from ...domain.errors import NotFound, VersionConflict
from ...i18n import N_
from ...services.program import ProgramInvalid, dump, parse
from .. import program_editor as E
from .. import program_examples as X
from .base import _rt, _shop, bp, render


def _author() -> str:
    return f"admin-page:{_shop().id}"


def _expected() -> int | None:
    raw = request.form.get("version", "")
    return int(raw) if raw.isdigit() else None


def _examples(page: str, program, currency: str) -> dict:
    if page == "earn":
        return {"earn": X.earn(program, currency)}
    if page == "tiers":
        return {"earn": X.earn(program, currency), "cashback": X.cashback(program, currency) if program.cashback.enabled else []}
    if page == "cashback":
        return {"cashback": X.cashback(program, currency)}
    if page == "campaigns":
        return {"campaigns": [X.campaign(program, i, currency) for i in range(len(program.campaigns))]}
    if page == "redeem":
        return {"rewards": [X.reward(program, i, currency) for i in range(len(program.rewards))]}
    if page == "referrals":
        return {"referral": X.referral(program, currency)}
    if page == "badges":
        return {"badges": [X.badge(program, i, currency) for i in range(len(program.badges))],
                "challenges": [X.challenge(program, i, currency) for i in range(len(program.challenges))]}
    if page == "engagement":
        return {"leaderboard": X.leaderboard(program)}
    if page == "segments":
        return {"rfm": X.rfm(program, currency)}
    return {}


def _edit(page: str, template: str, **extra):
    """A task page: read the form over the current program, preview or save, errors by their inputs."""
    shop, rt = _shop(), _rt()
    current = rt.programs.current(shop.id)
    document = dump(current.program)
    doc = E.to_form(document)
    errors: dict[str, str] = {}
    preview = changes = saved = conflict = None
    version = current.version
    if request.method == "POST":
        doc, problems = E.read(page, request.form, document)
        version = _expected() or current.version
        # Preview wins: its button comes before the form's default "save" (App Bridge's save bar
        # submits the form without a button, so the default is what it sends)
        chosen = request.form.getlist("action")
        action = "preview" if "preview" in chosen else "save" if "save" in chosen else None
        if not request.form.get("add") and action in ("preview", "save"):
            proposed = E.from_form(doc)
            try:
                if action == "save":
                    note = (request.form.get("note") or "").strip()[:500] or None
                    pv = rt.programs.put(shop.id, proposed, author=_author(), expected=_expected(), note=note)
                    saved, version, doc = pv.version, pv.version, E.to_form(dump(pv.program))
                else:
                    preview = rt.change_preview.preview(shop.id, shop.currency, proposed)
                    changes = E.diff(document, proposed, shop.currency)
            except ProgramInvalid as exc:
                errors = E.place(exc.fields, doc)
            except VersionConflict as exc:
                conflict = exc.details.get("current") or True
            errors.update({path: E.human(kind) for path, kind in problems.items()})  # not even a number
    try:
        program = parse(E.from_form(doc))  # the examples follow the edit being made
    except ProgramInvalid:
        program = current.program
    segments = [(s["id"], s["name"]) for s in rt.segments.list(shop.id)] if page in ("redeem", "campaigns") else []
    form = E.Form(doc, errors, shop.currency, [t.name for t in current.program.tiers.levels], segments)
    ctx = dict(form=form, page=page, version=version, saved=saved, conflict=conflict, preview=preview,
               changes=changes, examples=_examples(page, program, shop.currency), currency=shop.currency,
               program=program, reward_languages=[c for c in i18n.LOCALES if c != i18n.DEFAULT] if E.has_reward_names() else [],
               tier_languages=[c for c in i18n.LOCALES if c != i18n.DEFAULT] if E.has_tier_names() else [],
               language_name=lambda code: i18n.current().language(code).capitalize(), preview_lines=E.preview_lines, **extra)
    title = i18n.current().gettext(E.PAGE_TITLES[page])
    html = render(template, page, title, **ctx, leftovers=[])
    if form.leftovers():  # an error with no input of its own: said on top, in words
        html = render(template, page, title, **ctx, leftovers=form.leftovers())
    return html


@bp.route("", methods=["GET", "POST"])
@bp.route("/", methods=["GET", "POST"])
@bp.route("/home", methods=["GET", "POST"])
def home():
    """The program's status (live or paused, with the switch) and a launch checklist."""
    shop, rt = _shop(), _rt()
    t = i18n.current()
    current = rt.programs.current(shop.id)
    message = error = None
    if request.method == "POST" and request.form.get("action") in ("pause", "resume"):
        document = {**dump(current.program), "live": request.form["action"] == "resume"}
        try:
            current = rt.programs.put(shop.id, document, author=_author(), expected=_expected())
            message = t.gettext(N_("The program is live.") if current.program.live else N_("The program is paused."))
        except VersionConflict:
            error = t.gettext(N_("Someone changed the program meanwhile. Look again, then choose."))
            current = rt.programs.current(shop.id)
    p = current.program
    actions = [k for k in ("signup", "review", "newsletter", "social_follow", "social_share") if p.actions.rule(k).enabled]
    actions += ["birthday"] if p.actions.birthday.enabled else []
    actions += [k for k, r in p.actions.custom.items() if r.enabled]
    rewards = [r for r in p.rewards if r.enabled]
    emails_endpoint = "admin_pages.emails" if "admin_pages.emails" in _endpoints() else "admin_pages.notifications"
    n = p.notifications
    steps = [
        dict(done=p.earning.enabled or bool(actions), url=url_for("admin_pages.earn"), title=t.gettext(N_("Choose how customers earn")),
             detail="; ".join([
                 t.ngettext("%(rate)s point per %(cur)s spent", "%(rate)s points per %(cur)s spent",
                            1 if p.earning.points_per_unit == 1 else 2, rate=t.number(p.earning.points_per_unit),
                            cur=E.currency_symbol(shop.currency))
                 if p.earning.enabled else t.gettext(N_("Orders earn nothing yet.")),
                 t.ngettext("%(num)s other way to earn", "%(num)s other ways to earn", len(actions))])),
        dict(done=bool(rewards), url=url_for("admin_pages.redeem"), title=t.gettext(N_("Offer a reward to spend points on")),
             detail=t.ngettext("%(num)s reward offered", "%(num)s rewards offered", len(rewards))),
        dict(done=p.tiers.enabled, url=url_for("admin_pages.tiers"), title=t.gettext(N_("Set up VIP tiers (optional)")),
             detail=", ".join(lvl.name for lvl in p.tiers.levels) if p.tiers.enabled else t.gettext(N_("Off"))),
        dict(done=p.referrals.enabled, url=url_for("admin_pages.referrals"), title=t.gettext(N_("Reward referrals (optional)")),
             detail=t.gettext(N_("On")) if p.referrals.enabled else t.gettext(N_("Off"))),
        dict(done=p.timezone != "UTC", url=url_for("admin_pages.settings"), title=t.gettext(N_("Set your time zone, language and widget look")),
             detail=f"{p.timezone} · {i18n.current().language(i18n.locale_of(p.widget.locale)).capitalize()}"),
        dict(done=None, url=url_for("admin_pages.settings"), title=t.gettext(N_("Show the widget in your shop")),
             detail=t.gettext(N_("Shopify: Online Store → Themes → Customize → App embeds → turn Loyalty on. "
                                 "WordPress: the plugin shows it once connected."))),
        dict(done=bool(n.reply_to), url=url_for(emails_endpoint), title=t.gettext(N_("Check the e-mails customers get")),
             detail=t.gettext(N_("Replies go to %(address)s"), address=n.reply_to) if n.reply_to
             else t.gettext(N_("Add the address replies should go to."))),
    ]
    return render("admin/program_home.html", "home", t.gettext(N_("Home")), program=p, version=current.version,
                  steps=steps, message=message, error=error)


def _endpoints():
    from flask import current_app

    return current_app.view_functions


@bp.route("/earn", methods=["GET", "POST"])
def earn():
    return _edit("earn", "admin/program_earn.html",
                 actions=[("signup", N_("Welcome points")), ("review", N_("Product review")),
                          ("newsletter", N_("Newsletter sign-up")), ("social_follow", N_("Following on social media")),
                          ("social_share", N_("Sharing on social media"))])


@bp.route("/redeem", methods=["GET", "POST"])
def redeem():
    return _edit("redeem", "admin/program_redeem.html")


@bp.route("/tiers", methods=["GET", "POST"])
def tiers():
    return _edit("tiers", "admin/program_tiers.html")


@bp.route("/referrals", methods=["GET", "POST"])
def referrals():
    return _edit("referrals", "admin/program_referrals.html", fraud_rules=list(E.FRAUD_LABELS))


@bp.route("/cashback", methods=["GET", "POST"])
def cashback():
    return _edit("cashback", "admin/program_cashback.html")


@bp.route("/campaigns", methods=["GET", "POST"])
def campaigns():
    return _edit("campaigns", "admin/program_campaigns.html")


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    return _edit("settings", "admin/program_settings.html", widget_texts=E.WIDGET_TEXTS, text_languages=list(i18n.LOCALES))


# -- versions -----------------------------------------------------------------------------
@bp.get("/program/history")
def history():
    shop, rt = _shop(), _rt()
    rows = rt.programs.history(shop.id, limit=30)
    current = rt.programs.current(shop.id)
    documents = {}
    for r in rows:
        documents[r["version"]] = dump(rt.programs.version(shop.id, r["version"]).program)
    versions = []
    for r in rows:
        before = documents.get(r["version"] - 1)
        if before is None and r["version"] > 1:
            try:
                before = dump(rt.programs.version(shop.id, r["version"] - 1).program)
            except NotFound:
                before = None
        # Notes are the merchant's words; the ones this program wrote itself (the default
        # program's, a restore's) are said by the page in the reader's language instead.
        own = r["author"] == "system" or r.get("restored_from") or (r["note"] or "").startswith("restored version")
        versions.append({**r, "note": None if own else r["note"], "who": E.author_text(r["author"]),
                         "changes": E.diff(before, documents[r["version"]], shop.currency) if before is not None else None})
    return render("admin/program_history.html", "history", i18n.current().gettext(N_("Program history")),
                  versions=versions, version=current.version, zone=current.program.timezone)


@bp.route("/program/versions/<int:version>/restore", methods=["GET", "POST"])
def restore(version: int):
    """Restoring asks first: what would change (in words) and for whom (the change preview);
    only the confirmation's POST writes, and only if nobody saved meanwhile."""
    shop, rt = _shop(), _rt()
    try:
        old = rt.programs.version(shop.id, version)
    except NotFound:
        abort(404)
    current = rt.programs.current(shop.id)
    error = None
    if request.method == "POST" and request.form.get("confirm") == "1":
        expected = _expected()
        if expected is not None and expected != current.version:
            error = i18n.current().gettext(N_("Someone changed the program meanwhile; here is what restoring would do now."))
        else:
            try:
                restored = rt.programs.restore(shop.id, version, author=_author())
                return redirect(url_for("admin_pages.history", restored=restored.version))
            except ProgramInvalid:  # it names a segment deleted since
                error = i18n.current().gettext(N_("This version is limited to a segment that no longer exists, "
                                                  "so it cannot be restored as it is."))
    target = dump(old.program)
    changes = E.diff(dump(current.program), target, shop.currency)
    preview = rt.change_preview.preview(shop.id, shop.currency, target)
    return render("admin/program_restore.html", "history", i18n.current().gettext(N_("Restore version %(version)s"), version=version),
                  restoring=version, version=current.version, changes=changes, preview=preview, error=error,
                  created_at=old.created_at, who=E.author_text(old.author), zone=current.program.timezone,
                  preview_lines=E.preview_lines)


# -- the advanced JSON editor ---------------------------------------------------------------
@bp.route("/program", methods=["GET", "POST"])
def program():
    shop = _shop()
    rt = _rt()
    current = rt.programs.current(shop.id)
    text = request.form.get("document") or json.dumps(dump(current.program), indent=2)
    errors, preview, saved = [], None, None
    t = i18n.current()
    if request.method == "POST":
        try:
            document = jsondepth.loads(text)
            if request.form.get("action") == "save":
                saved = rt.programs.put(shop.id, document, author=_author(), expected=_expected()).version
                current = rt.programs.current(shop.id)
                text = json.dumps(dump(current.program), indent=2)
            else:
                preview = rt.change_preview.preview(shop.id, shop.currency, document)
        except json.JSONDecodeError as exc:
            errors = [{"field": t.gettext(N_("Line %(line)s"), line=exc.lineno), "message": exc.msg}]
        except jsondepth.TooDeep as exc:
            errors = [{"field": "", "message": str(exc)}]
        except ProgramInvalid as exc:
            errors = exc.fields
        except VersionConflict:
            errors = [{"field": "", "message": t.gettext(N_("Someone changed the program since you opened this page. "
                                                           "Reload it to see their version."))}]
    return render("admin/program_json.html", "history", t.gettext(N_("Program as JSON")), version=current.version,
                  text=text, errors=errors, preview=preview, saved=saved, preview_lines=E.preview_lines)


# The old one-form-per-section addresses: their tasks have pages of their own.
OLD_SECTIONS = {"earning": "earn", "actions": "earn", "expiry": "earn", "rewards": "redeem", "tiers": "tiers",
                "cashback": "cashback", "campaigns": "campaigns", "referrals": "referrals", "general": "settings",
                "emails": "emails"}


@bp.get("/program/<any(" + ", ".join(OLD_SECTIONS) + "):section>")
def program_section(section: str):
    """The old one-page-per-section addresses lead to the task pages."""
    return redirect(url_for(f"admin_pages.{OLD_SECTIONS[section]}"))

