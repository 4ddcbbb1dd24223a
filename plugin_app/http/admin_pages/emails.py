"""The E-mails page: each shopper e-mail on or off and reworded per language (blank: our text,
shown as the placeholder), the sender, reply-to address and logo, a preview of the HTML e-mail
in any shipped language, and a test sent to an address the merchant types."""
from __future__ import annotations

from flask import abort, request, session, url_for

from ... import i18n
from ...domain import notifications as N
from ...domain.errors import DomainError, VersionConflict
from ...services.emails import TITLES, default_wording
from ...services.program import ProgramInvalid, dump
from .base import _rt, _shop, bp, render

PREVIEW_CSP = "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; sandbox"


def _read(form, current: dict) -> dict:
    """The posted page as the program's `notifications` section (other keys kept)."""
    out = dict(current)
    for key in ("sender_name", "reply_to", "logo_url"):
        out[key] = (form.get(key) or "").strip()
    for kind in N.KINDS:
        out[kind] = {"enabled": form.get(f"{kind}.enabled") == "on",
                     # issue 20: only members of the segments ticked (none: every member)
                     "segments": list(dict.fromkeys(int(v) for v in form.getlist(f"{kind}.segments")
                                                    if v.isdigit() and len(v) < 19)),
                     "subject": {lang: v for lang in N.LANGUAGES if (v := (form.get(f"{kind}.subject.{lang}") or "").strip())},
                     "body": {lang: v for lang in N.LANGUAGES if (v := (form.get(f"{kind}.body.{lang}") or "").strip())}}
    return out


def _errors(fields: list[dict]) -> dict[str, str]:
    """Field errors by the page's input names: 'notifications.welcome.subject' -> 'welcome.subject'."""
    out: dict[str, str] = {}
    for f in fields:
        name = f["field"].removeprefix("notifications.")
        out.setdefault(name, f["message"])
    return out


@bp.route("/emails", methods=["GET", "POST"])
def emails():
    shop = _shop()
    rt = _rt()
    t = i18n.current()
    pv = rt.programs.current(shop.id)
    document = dump(pv.program)
    section = document["notifications"]
    kind = request.values.get("kind") if request.values.get("kind") in N.KINDS else N.KINDS[0]
    lang = i18n.locale_of(request.values.get("preview_lang"), fallback=t.locale)
    message = error = None
    errors: dict[str, str] = {}
    test_to = ""
    if request.method == "POST":
        action = request.form.get("action")
        if action == "save":
            posted = _read(request.form, section)
            try:
                expected = int(request.form.get("version") or 0) or None
                pv = rt.programs.put(shop.id, {**document, "notifications": posted}, author=f"admin-page:{shop.id}",
                                     expected=expected)
                document, section = dump(pv.program), dump(pv.program)["notifications"]
                message = t.gettext("Saved. Your e-mails use this wording from now on.")
            except ProgramInvalid as exc:
                errors = _errors(exc.fields)
                section = posted  # show what was typed, with the errors
                error = t.gettext("Nothing was saved: please correct the fields marked below.")
            except VersionConflict:
                error = t.gettext("Someone else changed the program meanwhile. Reload the page and try again.")
        elif action == "test":
            test_to = (request.form.get("to") or "").strip()
            try:
                sent_to = rt.notifier.send_test(shop.id, kind, lang, test_to)
                message = t.gettext("A test e-mail is on its way to %(address)s.", address=sent_to)
            except DomainError as exc:
                error = _test_error(t, exc.message)
    defaults = {k: {code: default_wording(k, code) for code in N.LANGUAGES} for k in N.KINDS}
    segments = [(x["id"], x["name"]) for x in rt.segments.list(shop.id)]
    kinds = [{"key": k, "title": t.gettext(TITLES[k]), "enabled": section[k]["enabled"],
              "segments": section[k].get("segments") or [],
              "subject": section[k].get("subject") or {}, "body": section[k].get("body") or {},
              "defaults": defaults[k]} for k in N.KINDS]
    return render("admin/emails.html", "emails", t.gettext("E-mails"), kinds=kinds, section=section,
                  version=pv.version, errors=errors, error=error, message=message, preview_kind=kind,
                  preview_lang=lang, test_to=test_to,
                  preview_url=url_for("admin_pages.email_preview", kind=kind, lang=lang, v=pv.version),
                  mail_ready=bool(rt.notifier.mailer.configured), codes=N.LANGUAGES,
                  placeholders=sorted(N.PLACEHOLDERS), segments=segments)


def _test_error(t, text: str) -> str:
    """The service's reason, in the admin's words where we know it."""
    if text.startswith("no mail relay"):
        return t.gettext("No mail relay is configured for this app, so nothing can be sent yet. "
                         "Ask whoever runs it to set SMTP_HOST (and its user and password), then try again.")
    if text.startswith("enter an e-mail address"):
        return t.gettext("Enter an e-mail address like name@example.com.")
    return t.gettext("The mail relay did not take the test e-mail: %(reason)s", reason=text.partition(": ")[2] or text)


@bp.get("/emails/preview/<kind>")
def email_preview(kind: str):
    """The HTML e-mail itself, for the page's sandboxed frame: its own Content-Security-Policy
    (e-mails carry inline styles; no script at all; framed by our pages only)."""
    if kind not in N.KINDS:
        abort(404)
    shop = _shop()
    shown = _rt().notifier.preview(shop.id, kind, i18n.locale_of(request.args.get("lang")))
    response = _rt_response(shown["html"])
    embedded = session.get("embedded")
    ancestors = f"'self' https://{embedded} https://admin.shopify.com" if embedded else "'self'"
    response.headers["Content-Security-Policy"] = f"{PREVIEW_CSP}; frame-ancestors {ancestors}"
    response.headers["Cache-Control"] = "no-store"
    return response


def _rt_response(html: str):
    from flask import current_app

    return current_app.response_class(html, mimetype="text/html")
