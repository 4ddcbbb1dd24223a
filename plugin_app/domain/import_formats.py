"""The importers for the files merchants hold (registered in domain.imports.FORMATS).

Each reads its file by header names (normalised by `imports.norm_header`: case, spacing and
punctuation do not matter, so "Points Balance" is `points_balance`) and cites where its columns
are documented. Where a vendor documents no exact column names, the comment says so and the
importer accepts the plausible variants as alternatives ("a|b").

Vendors' files
--------------
smile_import   Smile.io's points import: `email`, `points`. Mode "add" (see below).
smile_export   Smile.io's customer export: e-mail, name, state, date of birth (1004-MM-DD when
               the year is unknown), points balance, VIP tier, referral URL, dates. Mode "set".
loyaltylion    LoyaltyLion's customer export: e-mail, points approved / pending / spent, tier,
               referral id, birthday, merchant id (the platform's customer id). Mode "set".
yotpo          Yotpo Loyalty & Referrals' (formerly Swell) customer list: Email, names, Points
               Balance, Points Spent, Birthday (MM/DD or MM/DD/YYYY), VIP tier, referral link.
rivo           Rivo's "Import Loyalty Data" layout: Email, Points Balance, Birthdate, VIP Tier,
               Activation Date, Credits Balance. Mode "set" (Rivo's own import resets).
rivo_history   Rivo's "Points Logs" import: one signed points and/or credits line per row.

Our own layouts (also what our exports write)
---------------------------------------------
members        email, customer_id, name, points_balance, store_credit, tier, birthday
               (YYYY-MM-DD, or --MM-DD without the year), referral_code, locale.
               Mode "set": the balances replace the member's.
history        email, customer_id, occurred_at, points (signed), store_credit (signed), kind
               (earn | spend | expire | adjust | refund | other), expires_at, order_id,
               transaction_id, source, note, status (approved | pending | revoked).
               One `Transaction` per row; revoked lines are carried (status "revoked") and
               skipped when applied.
adjustments    email, customer_id, points (signed), store_credit (signed), reason (required).
               Mode "add".

Every layout needs `email` or `customer_id` (either may be empty on a row, not both: that row
gets the problem "no_customer"). Dates are ISO 8601 (UTC when no offset is given); amounts use
a decimal point or comma; a negative balance in a "set" file is the problem "negative_balance".

Pure: no storage, no clock.
"""
from __future__ import annotations

from decimal import Decimal

from .import_cells import (BadCell, Cells, amount, birthday, customer_id, email, moment, points,
                           referral_code, text)
from .import_rows import Format, ImportRow, Transaction, register

KINDS = ("earn", "spend", "expire", "adjust", "refund", "other")
STATUSES = ("approved", "pending", "revoked")

# Header alternatives every layout of ours accepts for who the row is about.
_EMAIL = ("email", "e_mail", "email_address", "customer_email")
_CUSTOMER_ID = ("customer_id", "shopify_customer_id", "woocommerce_customer_id", "user_id")


# -- helpers shared by the importers -------------------------------------------------------

def _who(c: Cells, emails: tuple[str, ...], ids: tuple[str, ...] = ()) -> tuple[str | None, str | None]:
    """The row's e-mail and platform customer id; "no_customer" when both cells are empty (an
    unreadable e-mail is its own problem, "bad_email", not also this one)."""
    mail = c.get(email, *emails)
    cid = c.get(customer_id, *ids) if ids else None
    if mail is None and cid is None and not c.raw(*emails):
        c.problems.append(("no_customer", emails[0]))
    return mail, cid


def _balance(c: Cells, reader, *names: str):
    """A balance a "set" file gives: below zero it is a problem, not a balance."""
    value = c.get(reader, *names)
    if value is not None and value < 0:
        c.problems.append(("negative_balance", next(n for n in names if c.record.get(n))))
        return None
    return value


def _name(c: Cells, full: tuple[str, ...], first: str = "first_name", last: str = "last_name") -> str | None:
    return text(c.raw(*full)) or text(f"{c.raw(first)} {c.raw(last)}")


def _choice(c: Cells, allowed: tuple[str, ...], code: str, *names: str) -> str | None:
    """A cell that must be one of `allowed` (any case); else the problem `code`."""
    value = c.raw(*names).strip().lower()
    if not value:
        return None
    if value not in allowed:
        c.problems.append((code, next(n for n in names if c.record.get(n))))
        return None
    return value


def _kind_from(label: str | None, pts: int, credit: Decimal, spent: bool = False) -> str:
    """What a history line meant, from the old app's words for its source, else its sign
    ("Birthday reward" credited is earned; "Redeemed reward" debited is spent)."""
    words = (label or "").lower()
    total = pts or credit
    if "expir" in words:
        return "expire"
    if any(w in words for w in ("refund", "cancel", "return")):
        return "refund"
    if spent or (total < 0 and any(w in words for w in ("redeem", "redemption", "reward", "spen", "discount"))):
        return "spend"
    if any(w in words for w in ("manual", "adjust", "import", "admin", "correction")):
        return "adjust"
    return "earn" if total > 0 else "other"


def _opt(*names: str) -> frozenset[str]:
    return frozenset(names)


# -- Smile.io ------------------------------------------------------------------------------

# Smile's own points import takes exactly two columns, `email` and `points`, and asks at upload
# (not in the file) whether to "Add points to existing customer balances" or "Reset existing
# customer balances"; its guides for moving from another program and for past purchases choose
# Add (help.smile.io/en/articles/4036234-award-points-on-previous-purchases). So a file in this
# layout is read as points to add (mode "add"); a merchant who means "reset" gets mode "set"
# from the service (dataclasses.replace(row, mode="set")). Yotpo's import template uses the
# same two columns ("Emails", "Points") and also adds
# (support.yotpo.com/docs/importing-or-adjusting-your-customers-points), hence `emails` too.
SMILE_IMPORT_DOC = "https://help.smile.io/en/articles/4036233-import-points-with-a-csv-file"


def _smile_import(line: int, record: dict[str, str]) -> ImportRow:
    c = Cells(record)
    mail, _ = _who(c, ("email", "emails", "e_mail"))
    return ImportRow(line, email=mail, points=c.get(points, "points"), mode="add", problems=c.found)


register(Format("smile_import", "Smile.io points import (email, points)",
                required=frozenset({"email|emails|e_mail", "points"}), build=_smile_import,
                doc=SMILE_IMPORT_DOC))


# Smile documents no column list for its customer export ("Export a customer list as a data
# file", help.smile.io/en/articles/4036251, is not in our reference store). The names below are
# Smile's customer object's fields (dev.smile.io/ui/objects/customer: first_name, last_name,
# email, state candidate|member|disabled, date_of_birth with "a year value of 1004 means only
# the customer's birth day and month is available", points_balance, referral_url, vip_tier,
# created_at, updated_at), written as an export would title them; Okapya's importer of Smile
# exports (doc.okapya.com/super-rewards/v5/import-from-other-reward-apps) places e-mail, date of
# birth, total points and referral count in columns 2, 4, 5 and 7, which our sample follows.
# Read by header name, so order does not matter; a file needs e-mail, the points balance and a
# Smile-only column (date of birth or referral URL) to be recognised.
SMILE_EXPORT_DOC = "https://dev.smile.io/ui/objects/customer"


def _smile_export(line: int, record: dict[str, str]) -> ImportRow:
    c = Cells(record)
    mail, cid = _who(c, ("email", "email_address", "customer_email", "e_mail"),
                     ("external_id", "shopify_customer_id", "platform_customer_id"))
    return ImportRow(
        line, email=mail, customer_id=cid,
        name=_name(c, ("name", "full_name", "customer_name")),
        points=_balance(c, points, "points_balance", "points"), mode="set",
        tier=text(c.raw("vip_tier", "vip_tier_name", "tier")),
        birthday=c.get(birthday, "date_of_birth", "birthday", "birth_date"),
        referral_code=c.get(referral_code, "referral_url", "referral_link", "referral_code"),
        source_id=text(c.raw("smile_id", "smile_customer_id", "id"), 64),
        problems=c.found)


register(Format(
    "smile_export", "Smile.io customer export",
    required=frozenset({"email|email_address|customer_email|e_mail", "points_balance|points",
                        "date_of_birth|referral_url"}),
    optional=_opt("name", "full_name", "customer_name", "first_name", "last_name", "state",
                  "vip_tier", "vip_tier_name", "referral_url", "date_of_birth", "birthday",
                  "referrals_completed", "referral_count", "created_at", "updated_at", "id",
                  "smile_id", "smile_customer_id", "external_id"),
    build=_smile_export, doc=SMILE_EXPORT_DOC + " ; https://doc.okapya.com/super-rewards/v5/import-from-other-reward-apps"))


# -- LoyaltyLion ---------------------------------------------------------------------------

# LoyaltyLion's customer export lets the merchant pick and rename its columns ("Each column
# field can be edited from the LoyaltyLion defaults", help.loyaltylion.com/articles/5367139-export)
# and documents the points states it carries ("You might see these come up in exports":
# approved, pending, spent, total = approved + pending, lifetime;
# help.loyaltylion.com/en/articles/6062006-how-points-work). The default headers are not listed
# there: we accept those states' names both ways round ("Points approved", "Approved points"),
# and `merchant_id` — LoyaltyLion's name for the id in the shop's own platform
# (developers.loyaltylion.com/docs/installation/custom) — as the customer id.
# The balance is approved + pending, LoyaltyLion's "points total": pending points only wait out
# an approval period there, and the old app will not approve them any more once the shop left.
LOYALTYLION_DOC = "https://help.loyaltylion.com/en/articles/6062006-how-points-work"


def _loyaltylion(line: int, record: dict[str, str]) -> ImportRow:
    c = Cells(record)
    mail, cid = _who(c, ("email", "customer_email", "e_mail"), ("merchant_id", "shopify_id", "customer_id"))
    approved = _balance(c, points, "points_approved", "approved_points")
    pending = _balance(c, points, "points_pending", "pending_points")
    total = None
    if approved is not None or pending is not None:
        total = (approved or 0) + (pending or 0)
    if any(col in ("points_approved", "approved_points", "points_pending", "pending_points")
           for _, col in c.problems):
        total = None  # half a balance is no balance
    return ImportRow(
        line, email=mail, customer_id=cid,
        name=_name(c, ("name", "full_name")),
        points=total, mode="set",
        tier=text(c.raw("tier", "tier_name", "current_tier", "loyalty_tier")),
        birthday=c.get(birthday, "birthday", "date_of_birth", "birthdate"),
        referral_code=c.get(referral_code, "referral_id", "referral_code", "referral_link", "referral_url"),
        source_id=text(c.raw("id", "loyaltylion_id"), 64),
        problems=c.found)


register(Format(
    "loyaltylion", "LoyaltyLion customer export",
    required=frozenset({"email|customer_email|e_mail", "points_approved|approved_points",
                        "points_pending|pending_points|points_spent|spent_points"}),
    optional=_opt("id", "loyaltylion_id", "merchant_id", "shopify_id", "first_name", "last_name",
                  "name", "full_name", "points_spent", "spent_points", "points_total",
                  "points_lifetime", "tier", "tier_name", "current_tier", "loyalty_tier",
                  "birthday", "date_of_birth", "birthdate", "referral_id", "referral_code",
                  "referral_link", "enrolled", "status", "enrolled_at", "created_at"),
    build=_loyaltylion, doc=LOYALTYLION_DOC + " ; https://help.loyaltylion.com/articles/5367139-export"))


# -- Yotpo Loyalty & Referrals (Swell) -----------------------------------------------------

# Yotpo documents its customer CSV's column titles for import — Full Name, First Name, Last
# Name, Email, Points Balance, Points Spent, "Birthday (MM/DD) or (MM/DD/YYYY)", … — on the
# same page as its export (support.yotpo.com/v1/docs/importingexporting-points-and-customers);
# Yotpo's community guide lists the export's content as e-mail, first and last name, current
# points balance and each customer's referral link
# (community.yotpo.com/loyalty-referrals-97/…-how-to-manage-your-customers-loyalty-points-649).
# Exact export headers are not given: "Current Points Balance" and "Referral Link" are read as
# well as the import titles, and a birthday split over month and day columns (Okapya reads a
# Yotpo export's birthday from two columns) is joined. A file needs e-mail, the points balance
# and one Yotpo-only column (points spent or earned, referral link, full name).
YOTPO_DOC = "https://support.yotpo.com/v1/docs/importingexporting-points-and-customers"


def _yotpo(line: int, record: dict[str, str]) -> ImportRow:
    c = Cells(record)
    mail, cid = _who(c, ("email", "emails", "e_mail"), ("customer_id", "platform_customer_id"))
    born = None
    if c.raw("birthday_month") or c.raw("birthday_day"):
        try:
            born = birthday(f"{c.raw('birthday_month')}/{c.raw('birthday_day')}")
        except BadCell:
            c.problems.append(("bad_birthday", "birthday_month"))
    else:
        born = c.get(birthday, "birthday", "birthday_mm_dd_or_mm_dd_yyyy", "birthday_mm_dd", "birthdate")
    return ImportRow(
        line, email=mail, customer_id=cid,
        name=_name(c, ("full_name", "name")),
        points=_balance(c, points, "points_balance", "current_points_balance"), mode="set",
        tier=text(c.raw("vip_tier", "vip_tier_name", "tier")),
        birthday=born,
        referral_code=c.get(referral_code, "referral_link", "referral_code", "referral_url"),
        problems=c.found)


register(Format(
    "yotpo", "Yotpo Loyalty & Referrals (Swell) customers",
    required=frozenset({"email|emails|e_mail", "points_balance|current_points_balance",
                        "points_spent|points_earned|total_points_earned|referral_link|full_name"}),
    optional=_opt("full_name", "first_name", "last_name", "points_spent", "points_earned",
                  "total_points_earned", "birthday", "birthday_mm_dd_or_mm_dd_yyyy", "birthday_mm_dd",
                  "birthday_month", "birthday_day", "anniversary", "vip_tier", "vip_tier_name",
                  "referral_link", "referral_code", "opted_in", "customer_id"),
    build=_yotpo, doc=YOTPO_DOC))


# -- Rivo ----------------------------------------------------------------------------------

# Rivo's "Import Loyalty Data" template: "Email,Points Balance,Birthdate,VIP Tier,Activation
# Date,Credits Balance"; either balance column may be left out or blank; the import "is
# aggressive and resets any points activity" (help.rivo.io/en/articles/6671188). Hence mode
# "set". Rivo's customer export is not documented in our reference store; an export carrying
# these titles (and a Shopify customer id or referral code) reads the same way.
RIVO_DOC = "https://help.rivo.io/en/articles/6671188-using-csv-files-with-rivo-loyalty"


def _rivo(line: int, record: dict[str, str]) -> ImportRow:
    c = Cells(record)
    mail, cid = _who(c, ("email", "customer_email", "e_mail"), ("customer_id", "shopify_customer_id"))
    return ImportRow(
        line, email=mail, customer_id=cid,
        name=_name(c, ("name", "full_name")),
        points=_balance(c, points, "points_balance"), mode="set",
        credit=_balance(c, amount, "credits_balance"),
        tier=text(c.raw("vip_tier", "tier")),
        birthday=c.get(birthday, "birthdate", "birthday", "dob"),
        referral_code=c.get(referral_code, "referral_code", "referral_link"),
        problems=c.found)


register(Format(
    "rivo", "Rivo loyalty data",
    required=frozenset({"email|customer_email|e_mail", "points_balance|credits_balance",
                        "birthdate|activation_date|credits_balance"}),
    optional=_opt("points_balance", "credits_balance", "birthdate", "vip_tier", "activation_date",
                  "customer_id", "shopify_customer_id", "first_name", "last_name", "referral_code"),
    build=_rivo, doc=RIVO_DOC))


# Rivo's "Points Logs" import (help.rivo.io/en/articles/14107276): a customer identifier
# (customer_id or email, with the header variants Rivo lists: Customer ID, CustomerID, Shopify
# Customer ID, customer_email, Shopify Customer Email) and points_amount and/or credits_amount
# (positive adds, negative deducts); optional source, internal_note, external_note, applied_at,
# approved_at, revoked_at, expires_at, order_id (or points_order_id), custom_action_name,
# earning_rule_id, points_purchases_id. Where Rivo quietly uses "now" for a missing or invalid
# applied_at and ignores an invalid revoked_at or expires_at, we report the unreadable date as
# a problem (occurred_at stays None, for the service's rule). A revoked_at makes the line
# "revoked"; a points_purchases_id marks a redemption ("spend").
RIVO_HISTORY_DOC = "https://help.rivo.io/en/articles/14107276-import-historical-points-or-credits-transactions"
_RIVO_IDS = ("customer_id", "customerid", "shopify_customer_id")
_RIVO_EMAILS = ("email", "customer_email", "shopify_customer_email")


def _rivo_history(line: int, record: dict[str, str]) -> ImportRow:
    c = Cells(record)
    mail, cid = _who(c, _RIVO_EMAILS, _RIVO_IDS)
    pts = c.get(points, "points_amount")
    credit = c.get(amount, "credits_amount")
    if pts is None and credit is None and not c.raw("points_amount", "credits_amount"):
        c.problems.append(("no_amount", "points_amount"))
    revoked = c.get(moment, "revoked_at")
    label = text(c.raw("custom_action_name", "source"))
    txn = Transaction(
        points=pts or 0, credit=credit or Decimal(0),
        occurred_at=c.get(moment, "applied_at"),
        expires_at=c.get(moment, "expires_at"),
        kind=_kind_from(label, pts or 0, credit or Decimal(0), spent=bool(c.raw("points_purchases_id"))),
        label=label,
        note=text(c.raw("external_note", "internal_note"), 500),
        order_id=text(c.raw("order_id", "points_order_id"), 64),
        status="revoked" if revoked else "approved")
    c.get(moment, "approved_at")  # read for its problem only: the line is approved either way
    return ImportRow(line, email=mail, customer_id=cid, mode="add", txn=txn, problems=c.found)


register(Format(
    "rivo_history", "Rivo points history (Points Logs)",
    required=frozenset({"|".join(_RIVO_IDS + _RIVO_EMAILS), "points_amount|credits_amount"}),
    optional=_opt(*_RIVO_IDS, *_RIVO_EMAILS, "points_amount", "credits_amount", "source",
                  "internal_note", "external_note", "applied_at", "approved_at", "revoked_at",
                  "expires_at", "order_id", "points_order_id", "custom_action_name",
                  "earning_rule_id", "points_purchases_id"),
    build=_rivo_history, doc=RIVO_HISTORY_DOC))


# -- ours ----------------------------------------------------------------------------------

OURS_DOC = "README.md#switching-in ; plugin_app/domain/import_formats.py (module docstring)"


def _members(line: int, record: dict[str, str]) -> ImportRow:
    c = Cells(record)
    mail, cid = _who(c, _EMAIL, _CUSTOMER_ID)
    return ImportRow(
        line, email=mail, customer_id=cid, name=text(c.raw("name")),
        points=_balance(c, points, "points_balance"), mode="set",
        credit=_balance(c, amount, "store_credit"),
        tier=text(c.raw("tier")),
        birthday=c.get(birthday, "birthday"),
        referral_code=c.get(referral_code, "referral_code"),
        locale=text(c.raw("locale"), 35),
        problems=c.found)


register(Format(
    "members", "Members and balances (our layout)",
    required=frozenset({"|".join(_EMAIL + _CUSTOMER_ID), "points_balance|store_credit"}),
    optional=_opt(*_EMAIL, *_CUSTOMER_ID, "name", "points_balance", "store_credit", "tier",
                  "birthday", "referral_code", "locale"),
    build=_members, doc=OURS_DOC))


def _history(line: int, record: dict[str, str]) -> ImportRow:
    c = Cells(record)
    mail, cid = _who(c, _EMAIL, _CUSTOMER_ID)
    pts = c.get(points, "points")
    credit = c.get(amount, "store_credit")
    if pts is None and credit is None and not c.raw("points", "store_credit"):
        c.problems.append(("no_amount", "points"))
    label = text(c.raw("source"))
    kind = _choice(c, KINDS, "bad_kind", "kind")
    status = _choice(c, STATUSES, "bad_status", "status")
    txn = Transaction(
        points=pts or 0, credit=credit or Decimal(0),
        occurred_at=c.get(moment, "occurred_at"),
        expires_at=c.get(moment, "expires_at"),
        txn_id=text(c.raw("transaction_id"), 64),
        kind=kind or (_kind_from(label, pts or 0, credit or Decimal(0)) if not c.raw("kind") else "other"),
        label=label,
        note=text(c.raw("note"), 500),
        order_id=text(c.raw("order_id"), 64),
        status=status or "approved")
    return ImportRow(line, email=mail, customer_id=cid, mode="add", txn=txn, problems=c.found)


register(Format(
    "history", "Points history (our layout)",
    required=frozenset({"|".join(_EMAIL + _CUSTOMER_ID), "occurred_at", "points|store_credit"}),
    optional=_opt(*_EMAIL, *_CUSTOMER_ID, "points", "store_credit", "kind", "expires_at",
                  "order_id", "transaction_id", "source", "note", "status"),
    build=_history, doc=OURS_DOC))


def _adjustments(line: int, record: dict[str, str]) -> ImportRow:
    c = Cells(record)
    mail, cid = _who(c, _EMAIL, _CUSTOMER_ID)
    pts = c.get(points, "points")
    credit = c.get(amount, "store_credit")
    if pts is None and credit is None and not c.raw("points", "store_credit"):
        c.problems.append(("no_amount", "points"))
    reason = text(c.raw("reason"), 500)
    if reason is None:
        c.problems.append(("no_reason", "reason"))
    return ImportRow(line, email=mail, customer_id=cid, points=pts, credit=credit, mode="add",
                     reason=reason, problems=c.found)


register(Format(
    "adjustments", "Adjustments (our layout)",
    required=frozenset({"|".join(_EMAIL + _CUSTOMER_ID), "points|store_credit", "reason"}),
    optional=_opt(*_EMAIL, *_CUSTOMER_ID, "points", "store_credit", "reason"),
    build=_adjustments, doc=OURS_DOC))
