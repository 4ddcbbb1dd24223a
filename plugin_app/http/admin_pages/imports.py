"""Switching in, for the merchant: upload the file the old app gave them, read the dry run in
plain words (what would be created, changed, left out and why, what it is worth), apply it and
watch it go, read the report, undo it in one action."""
from __future__ import annotations

from flask import redirect, request, session, url_for

from ... import i18n
from ...domain.errors import DomainError
from ...i18n import N_
from ...i18n import gettext as _
from .base import _rt, _shop, bp, message, render

SOURCES = {  # the importers, as a merchant knows the file they hold
    "smile_import": N_("Smile.io: points import file (e-mail, points)"),
    "smile_export": N_("Smile.io: customer export"),
    "loyaltylion": N_("LoyaltyLion: customer export"),
    "yotpo": N_("Yotpo Loyalty (Swell): customer export"),
    "rivo": N_("Rivo: loyalty data export"),
    "rivo_history": N_("Rivo: points history"),
    "wc_points_rewards": N_("WooCommerce Points and Rewards: points"),
    "wc_points_rewards_log": N_("WooCommerce Points and Rewards: points history"),
    "wployalty": N_("WPLoyalty: customers"),
    "wployalty_ledger": N_("WPLoyalty: points history"),
    "yith_points": N_("YITH Points and Rewards: customers"),
    "yith_points_log": N_("YITH Points and Rewards: points history"),
    "mycred": N_("myCRED: balances"),
    "mycred_log": N_("myCRED: points history"),
    "members": N_("Members and balances (our template)"),
    "history": N_("Points history (our template)"),
    "adjustments": N_("Adjustments with reasons (our template)"),
}
STATES = {
    "uploaded": N_("Waiting to be checked"), "analyzing": N_("Being checked"), "analyzed": N_("Checked: ready to apply"),
    "applying": N_("Being applied"), "applied": N_("Applied"), "reverting": N_("Being undone"),
    "reverted": N_("Undone"), "failed": N_("Failed"),
}
OUTCOMES = {  # why a row, or a value in it, was left out
    "no_customer": N_("no e-mail and no customer id"),
    "not_a_customer": N_("no member has this e-mail, and the row has no customer id to create one"),
    "not_a_member": N_("not a member yet (creating members was switched off)"),
    "duplicate": N_("the same customer or transaction appears earlier in the file"),
    "insufficient": N_("would take the balance below zero"),
    "revoked": N_("revoked in the old app"),
    "pending": N_("still pending in the old app"),
    "capped": N_("took back more than was left: only what was left was taken"),
    "expired": N_("points already expired in the old app"),
    "unknown_tier": N_("a tier your program does not have"),
    "code_taken": N_("the referral code belongs to another member"),
    "bad_code": N_("a referral code that cannot be used (4 to 32 letters, digits or underscores)"),
    "bad_email": N_("not an e-mail address"),
    "bad_points": N_("not a whole number of points"),
    "bad_amount": N_("not an amount of money"),
    "bad_date": N_("not a date"),
    "bad_birthday": N_("not a birthday"),
    "negative_balance": N_("a balance below zero"),
    "bad_status": N_("a status the importer does not know"),
    "bad_kind": N_("a kind of transaction the importer does not know"),
    "no_amount": N_("no points and no store credit"),
    "no_reason": N_("no reason given"),
}
RUNNING = ("uploaded", "analyzing", "applying", "reverting")


def source_label(fmt: str | None, title: str | None) -> str:
    return _(SOURCES[fmt]) if fmt in SOURCES else (title or fmt or "–")


def outcome_label(code: str) -> str:
    return _(OUTCOMES[code]) if code in OUTCOMES else code


def _decorate(view: dict, tz: str) -> dict:
    t = i18n.current()
    view = dict(view)
    view["source_text"] = source_label(view["format"], view["source"])
    view["state_text"] = _(STATES.get(view["state"], view["state"]))
    view["when"] = t.datetime(view["created_at"], tz) if view.get("created_at") else ""
    view["error_text"] = _problem_text(view["error"]) if view.get("error") else ""
    return view


def _summary(d: dict | None, currency: str) -> dict | None:
    """The dry run or the report, as sentences and rows for the page."""
    if not d:
        return None
    t = i18n.current()
    pts, credit = d["points"], d["credit"]
    liability = d.get("liability")
    return {
        "rows": t.number(d["rows"]),
        "create": d["members"]["create"], "change": d["members"]["change"],
        "unchanged": d["members"]["unchanged"], "unmatched": d["members"]["unmatched"],
        "points_in": t.number(pts["credited"]), "points_out": t.number(pts["debited"]),
        "credit_in": t.money(credit["credited"], currency), "credit_out": t.money(credit["debited"], currency),
        "liability": t.money(liability["amount"], liability["currency"]) if liability else None,
        "point_value": t.money(d.get("point_value", "0"), currency),
        "tiers": ", ".join(f"{name} ({t.number(n)})" for name, n in sorted(d["tiers"].items())),
        "birthdays": d["birthdays"], "codes": d["codes"], "replayed": d.get("replayed", 0),
        "left_out": [(outcome_label(k), t.number(n)) for k, n in sorted(d["left_out"].items())],
        "notes": [(outcome_label(k), t.number(n)) for k, n in sorted(d["notes"].items())],
        "lines": [(t.number(line), who, outcome_label(code)) for line, who, code in d.get("lines", [])],
        "revert": d.get("revert"),
    }


@bp.route("/imports", methods=["GET"])
def imports():
    shop = _shop()
    rt = _rt()
    tz = shop.timezone or "UTC"
    recent = [_decorate(v, tz) for v in rt.imports.recent(shop.id)]
    sources = sorted(((name, _(label)) for name, label in SOURCES.items()), key=lambda s: s[1])
    return render("admin/imports.html", "imports", _("Import"), recent=recent, sources=sources,
                  error=session.pop("import_error", None))


@bp.route("/imports", methods=["POST"])
def import_upload():
    shop = _shop()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _refused(_("Choose the file to import."))
    options = {k: request.form[k] for k in ("tiers", "expiry_from", "balance") if request.form.get(k)}
    fmt = request.form.get("format") or None
    try:
        view = _rt().imports.upload(shop.id, upload.filename, upload.stream, fmt=fmt, options=options,
                                    actor=f"admin-page:{shop.id}")
    except DomainError as exc:
        return _refused(_("The file was not taken: %(reason)s", reason=_file_problem(exc)))
    return redirect(url_for("admin_pages.import_page", import_id=view["id"]))


def _refused(why: str):
    """Back to the upload form, which says why once (kept in the signed session, not in the
    address, so a link cannot put words of its own on the page)."""
    session["import_error"] = why
    return redirect(url_for("admin_pages.imports"))


def _file_problem(exc: DomainError) -> str:
    return _problem_text(exc.message)


def _columns(listed: str) -> str:
    """The importer's "a|b, c" (one of a or b, and c) in words: "a or b, c"."""
    out = []
    for group in (g.strip() for g in listed.split(",") if g.strip()):
        names = [n.strip() for n in group.split("|") if n.strip()]
        words = names[0] if names else group
        for name in names[1:]:
            words = _("%(one)s or %(other)s", one=words, other=name)
        out.append(words)
    return ", ".join(out)


def _problem_text(text: str) -> str:
    """The reason a file was refused or an import stopped, in the merchant's words where the
    reason is one we know."""
    if "match no importer" in text:
        return _("its columns are not those of any file we read. Choose where it comes from, or use our template.")
    if "empty" in text:
        return _("it is empty.")
    if "lacks the columns" in text:
        return _("it lacks columns this kind of file needs: %(detail)s", detail=_columns(text.rsplit(":", 1)[-1]))
    if "MB; split it" in text:
        return _("it is larger than the import takes. Split it into smaller files.")
    return text


@bp.route("/imports/<int:import_id>", methods=["GET", "POST"])
def import_page(import_id: int):
    shop = _shop()
    rt = _rt()
    done = error = None
    if request.method == "POST":
        action = request.form.get("action")
        try:
            if action == "apply":
                rt.imports.apply(shop.id, import_id, actor=f"admin-page:{shop.id}")
                done = _("Applying the import. This page follows its progress.")
            elif action == "revert":
                if request.form.get("confirm") != "yes":
                    error = _("Tick the box to confirm that the import should be undone.")
                else:
                    rt.imports.revert(shop.id, import_id, actor=f"admin-page:{shop.id}")
                    done = _("Undoing the import. This page follows its progress.")
        except DomainError as exc:
            if exc.status == 404:
                return message(404, _("Not found"), _("There is no such import in this shop."))
            error = _("Nothing was done. The import's state: %(state)s.",
                      state=_(STATES.get(exc.details.get("state", ""), exc.details.get("state", ""))))
    try:
        view = rt.imports.view(shop.id, import_id)
    except DomainError:
        return message(404, _("Not found"), _("There is no such import in this shop."))
    tz = shop.timezone or "UTC"
    view = _decorate(view, tz)
    t = i18n.current()
    progress = view["progress"]
    return render("admin/import.html", "imports", view["filename"], imp=view, done=done, error=error,
                  running=view["state"] in RUNNING, plan=_summary(view["plan"], shop.currency),
                  report=_summary(view["report"], shop.currency), currency=shop.currency,
                  done_rows=t.number(progress["done"]), total_rows=t.number(progress["total"]) if progress["total"] else None,
                  percent=int(100 * progress["done"] / progress["total"]) if progress["total"] else None,
                  applied_when=t.datetime(view["applied_at"], tz) if view["applied_at"] else None,
                  reverted_when=t.datetime(view["reverted_at"], tz) if view["reverted_at"] else None)
