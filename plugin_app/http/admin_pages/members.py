"""Members: the shop's members at a glance (count, filters, sorts, pages, CSV export), and one
member's page: balances, tier standing, birthday, points and store-credit adjustments with a
reason, referrals and the ledger, in the admin's language."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from babel.dates import get_month_names
from flask import Response, request, session, stream_with_context, url_for

from ... import i18n
from ...domain.birthdays import NO_YEAR, BirthdayLocked
from ...domain.birthdays import show as show_birthday
from ...domain.errors import DomainError, InsufficientBalance, NotFound
from ...i18n import N_
from ...i18n import gettext as _
from ...services.member_admin import ACTIVITY, SORT_LABELS, MemberDirectory, MemberQuery, kind_label, who
from ...storage.member_list_repo import SORTS
from .base import _rt, _shop, bp, message, render

REFERRAL_STATUS = {"signed_up": N_("Signed up, no order yet"), "pending": N_("Ordered; rewarded when the return window ends"),
                   "review": N_("Being checked by you"), "rewarded": N_("Rewarded"), "rejected": N_("Rejected")}
DEFAULT_DESC = {"joined": True, "balance": True, "lifetime": True, "activity": True, "name": False}
MAX_POINTS = 10**9


def _directory() -> MemberDirectory:
    rt = _rt()
    return MemberDirectory(rt.db, rt.programs, rt.tiers, rt.clock)


def _actor() -> str:
    """Who acts from these pages, as stored (read back with `who`: "You, in the admin")."""
    return f"admin-page:{session.get('admin_shop')}"


def _query(args) -> tuple[MemberQuery, list[str]]:
    """The list's query from the URL; a value that makes no sense is named and left out."""
    errors: list[str] = []

    def whole(name: str, label: str) -> int | None:
        text = (args.get(name) or "").strip()
        if not text:
            return None
        try:
            value = int(text)
        except ValueError:
            errors.append(_("%(field)s must be a whole number.", field=label))
            return None
        if abs(value) > MAX_POINTS:
            errors.append(_("%(field)s is too large.", field=label))
            return None
        return value

    sort = args.get("sort") if args.get("sort") in SORTS else "joined"
    direction = args.get("dir")
    descending = DEFAULT_DESC[sort] if direction not in ("asc", "desc") else direction == "desc"
    activity = args.get("activity") if args.get("activity") in ACTIVITY else None
    tier = args.get("tier")
    tier = None if tier is None or tier == "*" else tier[:40]
    low, high = whole("min", _("Minimum points")), whole("max", _("Maximum points"))
    if low is not None and high is not None and low > high:
        errors.append(_("The minimum points must not be above the maximum."))
        low = high = None
    try:
        page = max(1, min(int(args.get("page") or 1), 10**6))
    except ValueError:
        page = 1
    return MemberQuery(q=(args.get("q") or "").strip()[:320], tier=tier, points_min=low, points_max=high,
                       activity=activity, sort=sort, descending=descending, page=page), errors


def _args(query: MemberQuery, **change) -> dict:
    """The URL arguments of a list like `query`, with `change` applied (links keep the filters)."""
    out = {"q": query.q or None, "tier": "*" if query.tier is None else query.tier,
           "min": query.points_min, "max": query.points_max, "activity": query.activity,
           "sort": query.sort, "dir": "desc" if query.descending else "asc", "page": query.page}
    out.update(change)
    return {k: v for k, v in out.items() if v is not None and v != "*" and not (k == "page" and v == 1)}


@bp.get("/members")
def members():
    shop = _shop()
    query, errors = _query(request.args)
    listing = _directory().list(shop.id, query)
    levels = [lvl.name for lvl in _rt().programs.for_reading(shop.id).program.tiers.levels]
    tiers = levels + [name for name in listing["tiers_in_use"] if name not in levels]
    headers = []
    for key in ("name", "balance", "lifetime", "activity", "joined"):
        on = query.sort == key
        flip = not query.descending if on else DEFAULT_DESC[key]
        headers.append({"key": key, "label": _(SORT_LABELS[key]), "on": on, "descending": query.descending,
                        "url": url_for("admin_pages.members", **_args(query, sort=key, dir="desc" if flip else "asc", page=1))})
    return render("admin/members.html", "members", _("Members"), query=query, listing=listing, errors=errors,
                  tiers=tiers, headers={h["key"]: h for h in headers},
                  activities=[(k, _(label)) for k, (label, _d, _a) in ACTIVITY.items()],
                  sorts=[(k, _(label)) for k, label in SORT_LABELS.items()],
                  filtered=any(v is not None for v in (query.tier, query.points_min, query.points_max, query.activity)) or bool(query.q),
                  prev_url=url_for("admin_pages.members", **_args(query, page=listing["page"] - 1)) if listing["page"] > 1 else None,
                  next_url=url_for("admin_pages.members", **_args(query, page=listing["page"] + 1)) if listing["page"] < listing["pages"] else None,
                  export_url=url_for("admin_pages.members_csv", **_args(query, page=1)))


@bp.get("/members.csv")
def members_csv():
    """The filtered list (every page) as CSV, streamed while it is read."""
    shop = _shop()
    query, _errors = _query(request.args)
    day = _rt().clock.now().date().isoformat()
    return Response(stream_with_context(_directory().export_csv(shop.id, query)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="members-{day}.csv"',
                             "Cache-Control": "no-store"})


def _points(text: str) -> int:
    value = int((text or "").strip())
    if value == 0 or abs(value) > MAX_POINTS:
        raise ValueError
    return value


def _credit(text: str) -> Decimal:
    value = Decimal((text or "").strip().replace(",", "."))
    if not value.is_finite() or value == 0 or value != value.quantize(Decimal("0.01")) or abs(value) > MAX_POINTS:
        raise InvalidOperation
    return value


def _birthday_text(form) -> str | None:
    """The birthday as the domain reads it: YYYY-MM-DD from the date input, or --MM-DD from the
    day and month when the year is not known; whichever the merchant changed (the form carries
    the value it showed), the full date when both changed. None: nothing given."""
    was = (form.get("birthday_was") or "").strip()
    full = (form.get("birthday_date") or "").strip()
    month, day = (form.get("birthday_month") or "").strip(), (form.get("birthday_day") or "").strip()
    no_year = None
    if month or day:
        no_year = f"--{int(month):02d}-{int(day):02d}" if month.isdigit() and day.isdigit() else "invalid"
    changed = [value for value in (full, no_year) if value and value != was]
    if changed:
        return changed[0]
    if full or no_year:
        return was
    text = (form.get("birthday") or "").strip()  # a typed value (the JSON-era field), still read
    return text or None


def _post(shop, member_id: int) -> tuple[str | None, str | None]:
    """Apply the member page's form; (success message, error message)."""
    rt, form = _rt(), request.form
    what = form.get("form")
    if what == "birthday":
        text = _birthday_text(form)
        if text is None:
            return None, _("Choose a date, or a day and a month.")
        try:
            current, _bal = rt.members.get(shop.id, member_id)
            rt.members.set_birthday(shop.id, current.platform_customer_id, text, source="merchant", actor=_actor())
        except BirthdayLocked:
            return None, _("This birthday cannot be changed here.")
        except DomainError:
            return None, _("That is not a valid birthday: a real date, not in the future, in the last 120 years.")
        return _("Birthday saved."), None
    if what not in ("points", "credit"):
        return None, _("Nothing to save.")
    reason = " ".join((form.get("reason") or "").split())
    try:
        amount = _points(form.get("amount")) if what == "points" else _credit(form.get("amount"))
    except (ValueError, InvalidOperation, ArithmeticError):
        return None, (_("Enter a whole number of points other than zero, e.g. 50 or -20.") if what == "points"
                      else _("Enter an amount other than zero with at most two decimals, e.g. 5.50 or -2."))
    if not reason or len(reason) > 500:
        return None, _("Say why (at most 500 characters): the member's history shows it.")
    try:
        rt.adjustments.adjust(shop.id, member_id, what, amount, key=f"admin-page:{form.get('nonce') or uuid.uuid4().hex}",
                              actor=_actor(), reason=reason)
    except InsufficientBalance:
        return None, _("The member does not have that much to take away.")
    except DomainError as exc:
        return None, _("The adjustment was not made: %(reason)s", reason=exc.message)
    t = i18n.current()
    shown = t.number(amount) if what == "points" else t.money(amount, rt.members.get(shop.id, member_id)[1].credit.currency)
    return (_("Points adjusted by %(amount)s.", amount=shown) if what == "points"
            else _("Store credit adjusted by %(amount)s.", amount=shown)), None


def explain_entry(entry, t) -> str:
    """A ledger line's "what and why" in the reader's language, with the rules behind it: the
    reason code and its parameters rendered by `services.explain` (old rows: their English text)."""
    from ...services.explain import explain

    return explain(entry, t, detail=True)


def _birthday_shown(value: date | None, t) -> str | None:
    if value is None:
        return None
    return t.month_day(value.month, value.day) if value.year == NO_YEAR else t.date(value, "long")


def _stored_birthday(text: str | None, t) -> str:
    """A birthday as the change log stores it (YYYY-MM-DD or --MM-DD), shown in the locale."""
    if not text:
        return "–"
    if text.startswith("--"):
        return t.month_day(int(text[2:4]), int(text[5:7]))
    return t.date(text, "long")


@bp.route("/members/<int:member_id>", methods=["GET", "POST"])
def member(member_id: int):
    shop = _shop()
    rt = _rt()
    t = i18n.current()
    try:
        m, balance = rt.members.get(shop.id, member_id)
    except NotFound:
        return message(404, _("Member not found"), _("This shop has no such member."))
    done = error = None
    if request.method == "POST":
        done, error = _post(shop, member_id)
        m, balance = rt.members.get(shop.id, member_id)
    tz = shop.timezone or "UTC"
    ledger = [{"when": t.datetime(e.created_at, tz), "what": kind_label(e.kind, t), "why": explain_entry(e, t),
               "points": int(e.points + e.points_pending) if e.asset == "points" else None,
               "pending": bool(e.points_pending or e.credit_pending),
               "credit": Decimal(e.credit + e.credit_pending) if e.asset == "credit" else None,
               "by": who(e.actor, e.source, t, shop.platform)}
              for e in rt.ledger.entries(shop.id, member_id, limit=200)]
    changes = [{"when": t.datetime(c["at"], tz), "old": _stored_birthday(c["old"], t), "new": _stored_birthday(c["new"], t),
                "by": who(c["actor"], c["source"], t, shop.platform)}
               for c in rt.members.birthday_changes(shop.id, member_id)]
    refs = rt.referrals.for_member(shop.id, member_id)
    referred = [{**r, "status_text": _(REFERRAL_STATUS[r["status"]]) if r["status"] in REFERRAL_STATUS else r["status"]}
                for r in refs["referred"]]
    by = refs["referred_by"]
    names = get_month_names("wide", context="stand-alone", locale=t.locale)
    months = [(n, names[n].capitalize()) for n in range(1, 13)]
    profile = _profile(shop, member_id, balance.credit.currency, t)
    return render("admin/member.html", "members", m.name or m.email or m.platform_customer_id,
                  m=m, b=balance, currency=balance.credit.currency, standing=_directory().standing(shop.id, member_id),
                  ledger=ledger, changes=changes, code=refs["code"], referred=referred,
                  referred_by=by, referred_by_status=(_(REFERRAL_STATUS[by["status"]]) if by and by["status"] in REFERRAL_STATUS else by and by["status"]),
                  birthday=_birthday_shown(m.birthday, t), birthday_was=show_birthday(m.birthday) or "",
                  birthday_value=m.birthday.isoformat() if m.birthday and m.birthday.year != NO_YEAR else "",
                  birthday_month=m.birthday.month if m.birthday and m.birthday.year == NO_YEAR else None,
                  birthday_day=m.birthday.day if m.birthday and m.birthday.year == NO_YEAR else None,
                  months=months, today=rt.clock.now().date().isoformat(),
                  joined=t.date(m.created_at, "long"), tier_since=t.date(m.tier_since, "long") if m.tier_since else None,
                  done=done, error=error, nonce=uuid.uuid4().hex, profile=profile)


def _profile(shop, member_id: int, currency: str, t) -> dict:
    """The member's profile (issue 20): RFM scores, lifecycle state, lifetime value, how often they
    order, the last order, the segments they are in, badges earned and challenges under way."""
    from ...domain.segments import STATES
    from ..program_examples import STATE_NAMES

    rt = _rt()
    tz = shop.timezone or "UTC"
    p = rt.segments.profile(shop.id, member_id)
    program = rt.programs.current(shop.id).program
    goals = rt.achievements.for_member(shop.id, member_id, program, t, currency)
    avg = p["average_days_between_orders"]
    return {**p, "state": t.gettext(STATE_NAMES[p["lifecycle"]]) if p["lifecycle"] in STATES else p["lifecycle"],
            "value": t.money(Decimal(p["lifetime_value"]), currency),
            "frequency": (t.gettext(N_("An order every %(days)s days on average"),
                                    days=t.number(Decimal(avg).quantize(Decimal("0.1")).normalize()))
                          if avg is not None else None),
            "last": t.datetime(p["last_order_at"], tz) if p["last_order_at"] else None,
            "first": t.date(p["first_order_at"], "long") if p["first_order_at"] else None,
            "segments": [{**s, "since": t.date(s["since"], "long")} for s in rt.segments.of_member(shop.id, member_id)],
            "badges": goals["badges"], "challenges": goals["challenges"],
            "tiers": _tier_moves(p["tier_history"], t)}


def _tier_moves(spans: list[dict], t) -> list[dict]:
    """The profile's tier history (newest first: each tier with when it was reached) as moves
    "date · from → to"; a tier the records do not date (set by an import) has no date."""
    return [{"from": spans[i + 1]["tier"] if i + 1 < len(spans) else None, "to": h["tier"],
             "at": t.date(datetime.fromisoformat(h["reached_at"]), "long") if h["reached_at"] else "—"}
            for i, h in enumerate(spans)]
