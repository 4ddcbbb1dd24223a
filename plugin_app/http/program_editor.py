"""The program's settings as the merchant's task pages: every field's plain label, unit, one line
of help and input kind in one table (FIELDS), read back from a posted form into the program's
JSON, the parser's field errors placed next to their inputs in words, and the difference between
two versions told in words ("Gold – Threshold: 1,500 → 1,200").

Input names are the program's own paths (`tiers.levels.2.threshold`); they never show on screen.
Rows of a list carry their position; `<list>.__n` says how many rows the form had,
`<list>.<i>.__remove` drops one and the `add` button appends a blank one (not saved until Save).
A checkbox comes after a hidden "0" of the same name (the last value wins); a set of checkboxes
after a hidden empty value (so none ticked still says "none")."""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache

from babel.numbers import get_currency_symbol

from .. import i18n
from ..domain import program as P
from ..i18n import N_

# -- the fields ---------------------------------------------------------------------------
@dataclass(frozen=True)
class F:
    label: str
    help: str = ""
    kind: str = "decimal"  # int decimal bool choice text opttext optint optdecimal list lines weekdays
    #                        datetime awaredatetime colour timezone locale tiers segments
    unit: str = ""  # points money percent days months times orders factor
    choices: tuple = ()  # (value, label)


MATCH_HELP = N_("Separate several with commas.")

FIELDS: dict[str, F] = {
    # the program
    "live": F(N_("Program is live"), N_("Paused: nobody earns anything new and the widget is hidden."), "bool"),
    "timezone": F(N_("Time zone"), N_("Dates, birthdays and campaign times follow this zone."), "timezone"),
    "sync_customer_fields": F(N_("Copy tier and balance to the customer in your shop"),
                              N_("Lets your e-mail tool and shop segments use them."), "bool"),
    # orders
    "earning.enabled": F(N_("Customers earn points on orders"), "", "bool"),
    "earning.points_per_unit": F(N_("Points for each 1 %(cur)s spent"),
                                 N_("Most shops give 1 point per unit of currency."), "decimal", "points"),
    "earning.base.include_shipping": F(N_("Shipping counts"), N_("Points are also given on what the customer pays for shipping."), "bool"),
    "earning.base.include_taxes": F(N_("Taxes count"), N_("Points are also given on the tax in the order."), "bool"),
    "earning.base.include_tips": F(N_("Tips count"), "", "bool"),
    "earning.base.exclude_gift_cards": F(N_("Gift cards do not count"),
                                         N_("Buying a gift card earns nothing; spending it later does."), "bool"),
    "earning.rounding": F(N_("Rounding"), N_("Points are whole numbers; this decides what happens to fractions."), "choice",
                          choices=(("down", N_("Round down (12.7 → 12)")), ("nearest", N_("Round to the nearest (12.7 → 13)")),
                                   ("up", N_("Round up (12.2 → 13)")))),
    "earning.minimum_order": F(N_("Minimum order"), N_("Smaller orders earn no points. 0: every order earns."), "decimal", "money"),
    "earning.trigger": F(N_("Points are given"), "", "choice",
                         choices=(("paid", N_("When the order is paid")), ("fulfilled", N_("When the order is fulfilled")))),
    "earning.include_test_orders": F(N_("Test orders earn points too"), N_("Only for trying the program out."), "bool"),
    "earning.exclude": F(N_("Products that earn nothing")),
    "earning.multipliers": F(N_("Products that earn extra")),
    "earning.multipliers.*.label": F(N_("Name"), N_("For you and in the points explanation, e.g. Shoes x2."), "text"),
    "earning.multipliers.*.factor": F(N_("Points multiplied by"), N_("2 gives double points on these products."), "decimal", "factor"),
    # matching products (any list)
    "match": F(N_("Products")),
    "match.products": F(N_("Product ids"), MATCH_HELP, "list"),
    "match.collections": F(N_("Collections or categories"), MATCH_HELP, "list"),
    "match.tags": F(N_("Product tags"), MATCH_HELP, "list"),
    "match.product_types": F(N_("Product types"), MATCH_HELP, "list"),
    # actions
    "actions.signup": F(N_("Welcome points")),
    "actions.signup.enabled": F(N_("Give welcome points when a customer creates an account"), "", "bool"),
    "actions.birthday": F(N_("Birthday points")),
    "actions.birthday.enabled": F(N_("Give points on the customer's birthday"), "", "bool"),
    "actions.birthday.when": F(N_("When"), "", "choice",
                               choices=(("day", N_("On the day")), ("month", N_("On the first day of the birthday month")))),
    "actions.review": F(N_("Product review")),
    "actions.review.enabled": F(N_("Give points for a product review"), "", "bool"),
    "actions.newsletter": F(N_("Newsletter sign-up")),
    "actions.newsletter.enabled": F(N_("Give points for signing up to the newsletter"), "", "bool"),
    "actions.social_follow": F(N_("Following on social media")),
    "actions.social_follow.enabled": F(N_("Give points for following the shop on social media"), "", "bool"),
    "actions.social_share": F(N_("Sharing on social media")),
    "actions.social_share.enabled": F(N_("Give points for sharing on social media"), "", "bool"),
    "actions.custom": F(N_("Your own actions")),
    "actions.custom.*.__key": F(N_("Event name"), N_("The name your site or app sends us, e.g. quiz-done."), "text"),
    "actions.custom.*.enabled": F(N_("On"), "", "bool"),
    "action.points": F(N_("Points"), "", "int", "points"),
    "caps.per_day": F(N_("At most per day"), "", "optint", "times"),
    "caps.per_month": F(N_("At most per month"), "", "optint", "times"),
    "caps.per_year": F(N_("At most per year"), "", "optint", "times"),
    "caps.lifetime": F(N_("At most ever"), N_("Empty: no limit."), "optint", "times"),
    # waiting and expiry
    "pending.orders_days": F(N_("Points from orders can be spent after"),
                             N_("Gives returns time to come back before points are spent. 0: at once."), "int", "days"),
    "pending.actions_days": F(N_("Points from actions can be spent after"), "", "int", "days"),
    "expiry.mode": F(N_("Points expire"), "", "choice",
                     choices=(("none", N_("Never")), ("age", N_("A set time after they are earned")),
                              ("inactivity", N_("After a time without any activity")))),
    "expiry.months": F(N_("After"), "", "int", "months"),
    "expiry.reminder_days": F(N_("Remind the customer this many days before"), MATCH_HELP, "list"),
    # rewards
    "rewards": F(N_("Rewards")),
    "rewards.*.name": F(N_("Name customers see"), "", "text"),
    "rewards.*.names": F(N_("Name in other languages"), N_("Empty: the name above."), "text"),
    "rewards.*.type": F(N_("What the customer gets"), "", "choice",
                        choices=(("fixed_amount", N_("An amount off the order")),
                                 ("variable_amount", N_("An amount off, the customer chooses how much")),
                                 ("percentage", N_("A percentage off the order")),
                                 ("free_shipping", N_("Free shipping")), ("free_product", N_("A free product")))),
    "rewards.*.points_cost": F(N_("Cost"), N_("For an amount the customer chooses: the points for each step."), "int", "points"),
    "rewards.*.amount": F(N_("Amount off"), N_("For an amount the customer chooses: the amount of each step."), "optdecimal", "money"),
    "rewards.*.percent": F(N_("Percentage off"), "", "optdecimal", "percent"),
    "rewards.*.product_id": F(N_("Free product (product id)"), "", "opttext"),
    "rewards.*.max_steps": F(N_("Most steps at once"), N_("Empty: as many as the points allow."), "optint", "times"),
    "rewards.*.minimum_cart": F(N_("Minimum cart"), N_("0: any cart."), "decimal", "money"),
    "rewards.*.max_cart_share": F(N_("Covers at most this share of the cart"), "", "decimal", "percent"),
    "rewards.*.code_expiry_days": F(N_("Discount code valid for"), N_("Empty: the code never expires."), "optint", "days"),
    "rewards.*.tiers": F(N_("Only for these tiers"), N_("None ticked: every customer."), "tiers"),
    "rewards.*.enabled": F(N_("Offered to customers"), "", "bool"),
    # targeting (issue 20): segments and dates
    "rewards.*.segments": F(N_("Only for members of these segments"),
                            N_("None ticked: everyone. A customer must be in one of them when redeeming."), "segments"),
    "rewards.*.available_from": F(N_("Customers can redeem it from"),
                                  N_("In the shop's time zone. Empty: at once."), "awaredatetime"),
    "rewards.*.early_access": F(N_("Early access")),
    "rewards.*.early_access.available_from": F(N_("Early access from"),
                                               N_("Before the date above, only the tiers and segments ticked here."),
                                               "awaredatetime"),
    "rewards.*.early_access.tiers": F(N_("Tiers with early access"), "", "tiers"),
    "rewards.*.early_access.segments": F(N_("Segments with early access"), "", "segments"),
    "store_credit.enabled": F(N_("Customers can spend store credit at checkout"), "", "bool"),
    "store_credit.max_cart_share": F(N_("Store credit covers at most this share of the cart"), "", "decimal", "percent"),
    # tiers
    "tiers.enabled": F(N_("VIP tiers are on"), "", "bool"),
    "tiers.basis": F(N_("Customers move up by"), "", "choice",
                     choices=(("points_earned", N_("Points earned")), ("money_spent", N_("Money spent")))),
    "tiers.window": F(N_("Counted over"), "", "choice",
                      choices=(("rolling_12_months", N_("The last 12 months")), ("calendar_year", N_("This calendar year")),
                               ("lifetime", N_("All time")))),
    "tiers.downgrade": F(N_("Moving down"), "", "choice",
                         choices=(("end_of_window", N_("At the end of the period, if the customer no longer qualifies")),
                                  ("grace_period", N_("After a grace period")), ("never", N_("Never")))),
    "tiers.grace_days": F(N_("Grace period"), N_("Only when moving down after a grace period."), "int", "days"),
    "tiers.levels": F(N_("Tiers")),
    "tiers.levels.*.name": F(N_("Name"), "", "text"),
    "tiers.levels.*.threshold": F(N_("Reached at"), N_("The first tier starts at 0."), "decimal", "basis"),
    "tiers.levels.*.earn_multiplier": F(N_("Points multiplied by"), N_("1.25 gives 25 % more points on orders."), "decimal", "factor"),
    "tiers.levels.*.cashback_rate": F(N_("Cashback rate"), N_("Empty: the program's rate."), "optdecimal", "percent"),
    "tiers.levels.*.entry_reward_points": F(N_("Bonus points on reaching it"), "", "int", "points"),
    "tiers.levels.*.perks": F(N_("Perks shown to customers"), N_("One per line."), "lines"),
    "tiers.levels.*.names": F(N_("Name in other languages"), N_("Empty: the name above."), "text"),
    "tiers.levels.*.perks_i18n": F(N_("Perks in other languages"), N_("One per line. Empty: the perks above."), "lines"),
    # referrals
    "referrals.enabled": F(N_("Referrals are on"), "", "bool"),
    "referrals.remember_days": F(N_("A visit through a link counts for"), "", "int", "days"),
    "referrals.minimum_order": F(N_("Friend's minimum first order"), "", "decimal", "money"),
    "referrals.pending_days": F(N_("The referrer is rewarded after"), N_("Time for a return before the reward is given."), "int", "days"),
    "referrals.friend": F(N_("The friend gets")),
    "referrals.friend.type": F(N_("Friend's welcome code"), "", "choice",
                               choices=(("fixed_amount", N_("An amount off")), ("percentage", N_("A percentage off")),
                                        ("free_shipping", N_("Free shipping")))),
    "referrals.friend.amount": F(N_("Amount off"), "", "decimal", "money"),
    "referrals.friend.percent": F(N_("Percentage off"), "", "optdecimal", "percent"),
    "referrals.friend.issue_on": F(N_("The code is given"), "", "choice",
                                   choices=(("signup", N_("When the friend creates an account")),
                                            ("landing", N_("As soon as the friend arrives through the link")))),
    "referrals.friend.code_days": F(N_("Code valid for"), "", "int", "days"),
    "referrals.referrer": F(N_("The referrer gets")),
    "referrals.referrer.kind": F(N_("Referrer's reward"), "", "choice",
                                 choices=(("points", N_("Points")), ("credit", N_("Store credit")),
                                          ("code", N_("A discount code")))),
    "referrals.referrer.points": F(N_("Points"), "", "int", "points"),
    "referrals.referrer.amount": F(N_("Amount (credit or code)"), "", "decimal", "money"),
    "referrals.referrer.code_days": F(N_("Code valid for"), "", "int", "days"),
    "referrals.cashback": F(N_("Extra cashback on the friend's orders")),
    "referrals.cashback.rate": F(N_("Share of each of the friend's orders"),
                                 N_("Paid to the referrer as store credit. 0: off."), "decimal", "percent"),
    "referrals.cashback.months": F(N_("For"), N_("Empty: for as long as the friend orders."), "optint", "months"),
    "referrals.cashback.orders": F(N_("For at most"), N_("Empty: every order."), "optint", "orders"),
    "referrals.fraud": F(N_("Fraud checks")),
    "referrals.max_per_ip_7d": F(N_("Many referrals from one network means more than"), N_("In 7 days."), "int", "referrals"),
    "referrals.max_per_day": F(N_("Many referrals in a day means more than"), "", "int", "referrals"),
    # cashback
    "cashback.enabled": F(N_("Cashback is on"), N_("A share of each order comes back as store credit."), "bool"),
    "cashback.rate": F(N_("Cashback rate"), "", "decimal", "percent"),
    "cashback.pending_days": F(N_("Cashback can be spent after"), "", "int", "days"),
    "cashback.expiry_days": F(N_("Cashback expires after"), N_("Empty: it never expires."), "optint", "days"),
    "cashback.payout": F(N_("Where customers spend their cashback"),
                         N_("Shopify store credit: added to the customer's store credit in Shopify, with the same expiry, "
                            "and spent at your checkout; refunds take it back. Our records stay the reference."), "choice",
                         choices=(("ledger", N_("Loyalty balance (reward codes from the widget)")),
                                  ("shopify_store_credit", N_("Shopify store credit")))),
    "cashback.boosts": F(N_("Higher cashback on some products")),
    "cashback.boosts.*.label": F(N_("Name"), "", "text"),
    "cashback.boosts.*.rate": F(N_("Cashback rate"), "", "decimal", "percent"),
    "window": F(N_("Dates")),
    "window.starts_at": F(N_("Starts"), N_("In the shop's time zone."), "datetime"),
    "window.ends_at": F(N_("Ends"), "", "datetime"),
    # campaigns
    "campaigns": F(N_("Campaigns")),
    "campaigns.*.name": F(N_("Name"), N_("Shown in the points explanation."), "text"),
    "campaigns.*.kind": F(N_("Kind"), "", "choice",
                          choices=(("multiplier", N_("Extra points for a period")),
                                   ("birthday", N_("Extra points on the customer's birthday")))),
    "campaigns.*.factor": F(N_("Points multiplied by"), N_("2: double points."), "decimal", "factor"),
    "campaigns.*.days_of_week": F(N_("Only on"), N_("None ticked: every day."), "weekdays"),
    "campaigns.*.segments": F(N_("Only for members of these segments"),
                              N_("None ticked: every customer. Membership when the order earns counts."), "segments"),
    "campaigns.*.birthday_when": F(N_("Birthday counts"), "", "choice",
                                   choices=(("day", N_("On the day")), ("month", N_("All month")))),
    # widget
    "widget.locale": F(N_("Shop's default language"), N_("Customers whose language we do not know see this one."), "locale"),
    "widget.colour": F(N_("Colour"), "", "colour"),
    "widget.position": F(N_("Position"), "", "choice",
                         choices=(("right", N_("Bottom right")), ("left", N_("Bottom left")))),
    "widget.launcher_text": F(N_("Button text"), N_("Empty: “Rewards” in the customer's language."), "text"),
    "widget.texts": F(N_("Widget texts")),
}

FRAUD_LABELS = {
    "self_referral": N_("The friend is the referrer (same e-mail, phone, address or card)"),
    "same_device_or_ip": N_("The friend uses the referrer's device or network"),
    "ip_velocity": N_("Many referrals from one network"),
    "daily_velocity": N_("Many referrals by one referrer in a day"),
    "not_new_customer": N_("The friend had ordered before"),
    "order_reversed": N_("The friend's order is refunded or cancelled"),
}
FRAUD_CHOICES = (("block", N_("Refuse the reward")), ("hold", N_("Hold it for my review")),
                 ("observe", N_("Give it, but note it")), ("off", N_("Do not check")))
for _rule, _label in FRAUD_LABELS.items():
    FIELDS[f"referrals.fraud.{_rule}"] = F(_label, "", "choice", choices=FRAUD_CHOICES)

# The storefront widget's texts a merchant may reword (the widget's own keys).
WIDGET_TEXTS = (("title", N_("Panel title")), ("join_title", N_("Invitation title")),
                ("join_text", N_("Invitation text")), ("ways", N_("Ways to earn heading")),
                ("rewards", N_("Rewards heading")), ("refer", N_("Referral heading")))
for _key, _label in WIDGET_TEXTS:
    FIELDS[f"widget.texts.*.{_key}"] = F(_label, "", "text")

DAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"), N_("Sunday"))
UNITS = {"points": N_("points"), "days": N_("days"), "months": N_("months"), "times": N_("times"),
         "orders": N_("orders"), "referrals": N_("referrals")}

# Lists edited as rows, and what a new row starts as (sensible defaults).
EMPTY_MATCH = {"products": [], "collections": [], "tags": [], "product_types": []}
LISTS = {
    "earning.multipliers": lambda doc: {"match": dict(EMPTY_MATCH), "factor": "2", "label": ""},
    "actions.custom": lambda doc: {"__key": "", "enabled": True, "points": 10,
                                   "caps": {"per_day": 1, "per_month": None, "per_year": None, "lifetime": None}},
    "tiers.levels": lambda doc: {"name": "", "threshold": "", "earn_multiplier": "1", "cashback_rate": None,
                                 "entry_reward_points": 0, "perks": []},
    "rewards": lambda doc: {"id": "", "name": "", "type": "fixed_amount", "points_cost": 100, "amount": "5",
                            "percent": None, "product_id": None, "max_steps": None, "minimum_cart": "0",
                            "max_cart_share": "100", "code_expiry_days": 30, "tiers": [], "enabled": True,
                            "segments": [], "available_from": None, "early_access": None},
    "cashback.boosts": lambda doc: {"match": dict(EMPTY_MATCH), "rate": "10", "window": None, "label": ""},
    "campaigns": lambda doc: {"name": "", "factor": "2", "kind": "multiplier", "window": None, "days_of_week": [],
                              "match": None, "birthday_when": "day", "segments": []},
}
OPTIONAL_GROUPS = ("earning.exclude", "campaigns.*.match", "campaigns.*.window", "cashback.boosts.*.window",
                   "rewards.*.early_access")
AWARE_TIMES = ("rewards.*.available_from", "rewards.*.early_access.available_from")  # instants, typed in the shop's zone

# The task pages: the program's top-level keys each one edits.
PAGES = {
    "earn": ("earning", "actions", "pending", "expiry"),
    "redeem": ("rewards", "store_credit"),
    "tiers": ("tiers",),
    "referrals": ("referrals",),
    "cashback": ("cashback",),
    "campaigns": ("campaigns",),
    "settings": ("timezone", "widget", "sync_customer_fields"),
    "home": ("live",),
    # not a task page: the levers the simulator's page lets a merchant try on past orders
    "simulate": ("earning", "tiers", "expiry", "cashback", "rewards"),
}
PAGE_TITLES = {"home": N_("Home"), "earn": N_("Ways to earn"), "redeem": N_("Ways to redeem"),
               "tiers": N_("VIP tiers"), "referrals": N_("Referrals"), "cashback": N_("Cashback"),
               "campaigns": N_("Campaigns"), "settings": N_("Settings")}


def pattern(path: str) -> str:
    """A path with its row positions (and custom action names) as `*`."""
    parts = path.split(".")
    out = []
    for i, p in enumerate(parts):
        prev = ".".join(out)
        out.append("*" if p.isdigit() or prev in ("actions.custom", "widget.texts", "rewards.*.names",
                                                               "tiers.levels.*.names", "tiers.levels.*.perks_i18n")
                   or prev in LANG_DICTS else p)
    return ".".join(out)


def spec(path: str) -> F | None:
    """The field's description: its own, else the one its kind of place shares (matching
    products, dates, an action's points and caps)."""
    pat = pattern(path)
    if pat in FIELDS:
        return FIELDS[pat]
    parts = pat.split(".")
    if parts[-1] == "points" and parts[0] == "actions":
        return FIELDS["action.points"]
    if len(parts) >= 2 and parts[-2] in ("match", "exclude") and f"match.{parts[-1]}" in FIELDS:
        return FIELDS[f"match.{parts[-1]}"]
    for n in (2, 1):
        tail = ".".join(parts[-n:])
        if tail in FIELDS and parts[-n] in ("match", "caps", "window"):
            return FIELDS[tail]
    if len(parts) >= 3 and parts[:2] == ["rewards", "*"] and parts[2] == "names":
        return FIELDS["rewards.*.names"]
    if len(parts) == 5 and parts[:3] == ["tiers", "levels", "*"] and parts[3] in ("names", "perks_i18n"):
        return FIELDS[f"tiers.levels.*.{parts[3]}"]
    return None


def has_reward_names() -> bool:
    return "names" in P.Reward.__dataclass_fields__


def has_tier_names() -> bool:
    return "names" in P.Tier.__dataclass_fields__


# -- the document as the form sees it -----------------------------------------------------
def to_form(document: dict) -> dict:
    """The program's JSON with custom actions as rows (name in `__key`), as the form draws them."""
    doc = copy.deepcopy(document)
    custom = doc.get("actions", {}).get("custom")
    if isinstance(custom, dict):
        doc["actions"]["custom"] = [{"__key": k, **v} for k, v in custom.items()]
    return doc


def from_form(doc: dict) -> dict:
    out = copy.deepcopy(doc)
    custom = out.get("actions", {}).get("custom")
    if isinstance(custom, list):
        out["actions"]["custom"] = {row.pop("__key", ""): row for row in custom}
    return out


def get(doc, path: str, default=None):
    at = doc
    for p in path.split("."):
        if isinstance(at, list) and p.isdigit() and int(p) < len(at):
            at = at[int(p)]
        elif isinstance(at, dict) and p in at:
            at = at[p]
        else:
            return default
    return at


def _put(doc, path: str, value) -> None:
    parts = path.split(".")
    at = doc
    for i, p in enumerate(parts[:-1]):
        if isinstance(at, list):
            if not p.isdigit() or int(p) >= len(at):
                return
            at = at[int(p)]
            continue
        if not isinstance(at.get(p), (dict, list)):
            at[p] = {}
        at = at[p]
    last = parts[-1]
    if isinstance(at, list):
        if last.isdigit() and int(last) < len(at):
            at[int(last)] = value
    else:
        at[last] = value


def _number_text(raw: str) -> str:
    """'1,5' → '1.5' and '1.250' stays: a comma alone is a decimal comma (it, de, fr, es)."""
    text = raw.strip().replace("\u00a0", "").replace(" ", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    return text


def _convert(kind: str, form, name: str):
    values = form.getlist(name)
    raw = values[-1] if values else ""
    if kind == "bool":
        return raw == "1"
    if kind in ("weekdays", "tiers", "segments"):
        picked = [v for v in values if v != ""]
        if kind == "segments":
            return list(dict.fromkeys(int(v) for v in picked if v.isdigit() and len(v) < 19))
        return sorted({int(v) for v in picked if v.isdigit() and int(v) < 7}) if kind == "weekdays" else picked
    if kind == "list":
        items = [v.strip() for v in raw.split(",") if v.strip()]
        return [int(v) if v.isdigit() else v for v in items] if name.endswith("reminder_days") else items
    if kind == "lines":
        return [v.strip() for v in raw.splitlines() if v.strip()]
    if kind in ("int", "decimal", "optint", "optdecimal"):
        text = _number_text(raw)
        if text == "":
            return None if kind.startswith("opt") else ""
        return text
    if kind == "opttext":
        return raw.strip() or None
    if kind in ("datetime", "awaredatetime"):  # an aware one gets the shop's offset in `read`
        text = raw.strip()
        return (text + ":00" if len(text) == 16 else text) or None
    return raw.strip() if kind != "text" else raw.strip()


SKIP = {"csrf", "action", "version", "note", "add", "confirm"}


def read(page: str, form, document: dict) -> tuple[dict, dict[str, str]]:
    """The whole document (form shape) with this page's fields replaced from the posted form,
    and the inputs that are not even numbers (so the parser's words are not needed for them)."""
    doc = to_form(document)
    owned = PAGES[page]
    problems: dict[str, str] = {}
    # rows first: the list as many rows long as the form had, new rows from their defaults
    lists = sorted({k[:-len(".__n")] for k in form if k.endswith(".__n")}, key=lambda p: p.count("."))
    for path in lists:
        if path.split(".")[0] not in owned or pattern(path) not in LISTS:
            continue
        old = get(doc, path) or []
        try:
            n = max(0, min(int(form.get(f"{path}.__n", "0")), 200))
        except ValueError:
            n = len(old)
        _put(doc, path, [copy.deepcopy(old[i]) if i < len(old) else LISTS[pattern(path)](doc) for i in range(n)])
    for name in dict.fromkeys(form.keys()):
        if name in SKIP or "__" in name.rsplit(".", 1)[-1] and not name.endswith(".__key"):
            continue
        if name.split(".")[0] not in owned:
            continue
        s = spec(name)
        if s is None:
            continue
        value = _convert(s.kind, form, name)
        _put(doc, name, value)
        if s.kind in ("int", "optint") and value not in (None, "") and not re.fullmatch(r"-?\d+", str(value)):
            problems[name] = "int"
        if s.kind in ("decimal", "optdecimal") and value not in (None, ""):
            try:
                Decimal(str(value))
            except InvalidOperation:
                problems[name] = "decimal"
    # rewards the merchant adds get an id from their name
    if "rewards" in owned:
        taken: set[str] = set()
        for reward in doc.get("rewards", []):
            if not reward.get("id"):
                base = re.sub(r"[^a-z0-9]+", "-", str(reward.get("name", "")).lower()).strip("-")[:30] or "reward"
                rid, n = base, 2
                while rid in taken or any(r.get("id") == rid for r in doc["rewards"] if r is not reward):
                    rid, n = f"{base}-{n}", n + 1
                reward["id"] = rid
            taken.add(reward["id"])
    # the rows removed, and a blank one added
    for path in sorted(lists, key=lambda p: -p.count(".")):
        if path.split(".")[0] not in owned or pattern(path) not in LISTS:
            continue
        rows = get(doc, path) or []
        kept = [r for i, r in enumerate(rows) if form.get(f"{path}.{i}.__remove") != "1"]
        if form.get("add") == path:
            kept.append(LISTS[pattern(path)](doc))
        _put(doc, path, kept)
    # instants typed as the shop's wall-clock time: with the shop's offset on that day
    for pat in AWARE_TIMES:
        for path in _expand(doc, pat):
            value = get(doc, path)
            if isinstance(value, str) and value:
                _put(doc, path, aware(value, doc.get("timezone") or "UTC"))
    # optional groups left empty are none
    for group in OPTIONAL_GROUPS:
        for path in _expand(doc, group):
            value = get(doc, path)
            if isinstance(value, dict) and not any(v not in (None, "", [], {}) for v in value.values()):
                _put(doc, path, None)
    if "widget" in owned:  # a text left empty is the widget's own wording
        texts = get(doc, "widget.texts") or {}
        _put(doc, "widget.texts", {lang: {k: v for k, v in t.items() if v} for lang, t in texts.items()
                                   if isinstance(t, dict) and any(t.values())})
    if "rewards" in owned and has_reward_names():
        for reward in doc.get("rewards", []):
            if isinstance(reward.get("names"), dict):
                reward["names"] = {k: v for k, v in reward["names"].items() if v}
    if "tiers" in owned and has_tier_names():  # a language left empty shows the default
        for level in (doc.get("tiers") or {}).get("levels") or []:
            for key in ("names", "perks_i18n"):
                if isinstance(level.get(key), dict):
                    level[key] = {k: v for k, v in level[key].items() if v}
    engagement_rows(doc, owned, adding=bool(form.get("add")))
    return doc, problems


def aware(text: str, zone: str) -> str:
    """'2026-12-01T09:00:00' typed in the shop's zone → '2026-12-01T09:00:00+01:00'; a value
    with an offset, or not a date at all (the parser names it), is left as it is."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    try:
        at = datetime.fromisoformat(text)
        return at.replace(tzinfo=ZoneInfo(zone)).isoformat() if at.tzinfo is None else text
    except (ValueError, KeyError):
        return text


def local_text(value, zone: str) -> str:
    """An instant (ISO text with an offset) as the shop's wall-clock time, for a datetime-local input."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    if not value:
        return ""
    try:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return (at.astimezone(ZoneInfo(zone)) if at.tzinfo else at).strftime("%Y-%m-%dT%H:%M")
    except (ValueError, KeyError):
        return str(value)[:16]


def _expand(doc, pat: str) -> list[str]:
    paths = [""]
    for part in pat.split("."):
        nxt = []
        for p in paths:
            if part == "*":
                value = get(doc, p) if p else doc
                nxt += [f"{p}.{i}".lstrip(".") for i in range(len(value))] if isinstance(value, list) else []
            else:
                nxt.append(f"{p}.{part}".lstrip("."))
        paths = nxt
    return paths


# -- errors in words ----------------------------------------------------------------------
MESSAGES = [
    (r"unknown segment \d+.*", N_("This segment no longer exists: untick it.")),
    (r"a segment is named twice|segment ids are positive whole numbers", N_("Tick each segment once.")),
    (r"at most \d+ segments", N_("Tick at most 20 segments.")),
    (r"give a time with its offset.*", N_("Enter a date and time.")),
    (r"early access needs the date everyone else may redeem from.*",
     N_("Early access needs the date everyone else can redeem from.")),
    (r"early access must start before available_from", N_("Early access must start before everyone else's date.")),
    (r"name the tiers or segments that get early access", N_("Tick the tiers or segments that get early access.")),
    (r"name at least one product, collection, tag or product type", N_("Name at least one product, collection, tag or product type.")),
    (r"must not be negative", N_("Must not be below 0.")),
    (r"a cap must be at least 1.*", N_("Enter 1 or more, or leave it empty for no limit.")),
    (r"an enabled action must award points", N_("Give at least 1 point, or switch this off.")),
    (r"a points reward needs points", N_("Give at least 1 point.")),
    (r"event name .*", N_("Use only letters, digits, - and _ (at most 64).")),
    (r"must be 1 to (?P<n>\d+) characters", N_("Enter a name of at most %(n)s characters.")),
    (r"at most (?P<n>\d+) characters", N_("At most %(n)s characters.")),
    (r"at least one tier is needed", N_("Keep at least one tier.")),
    (r"the first tier starts at 0", N_("The first tier must start at 0.")),
    (r"thresholds must rise strictly from tier to tier", N_("Each tier must be reached at more than the one before it.")),
    (r"tier names must be unique", N_("Two tiers have the same name.")),
    (r"give local times .*", N_("Enter a date and time.")),
    (r"must be after starts_at", N_("The end must be after the start.")),
    (r"a multiplier campaign needs a start and an end", N_("A campaign for a period needs a start and an end.")),
    (r".*needs an amount above 0|must be above 0", N_("Enter an amount above 0.")),
    (r"a free product reward names the product", N_("Enter the free product's id.")),
    (r"is a percentage (?:between|above) (?P<low>[\d.]+) and (?:at most )?(?P<high>[\d.]+)",
     N_("Enter a percentage from %(low)s to %(high)s.")),
    (r"must be (?:between|above) (?P<low>[\d.]+) and (?:at most )?(?P<high>[\d.]+).*", N_("Enter a number from %(low)s to %(high)s.")),
    (r"must be 0 to (?P<high>\d+)", N_("Enter a number from %(low)s to %(high)s.")),
    (r"days are .*", N_("Enter days from 1 to 365.")),
    (r"unknown time zone.*", N_("Choose a time zone from the list.")),
    (r"a #rrggbb colour", N_("Choose a colour.")),
    (r"like en or it-IT", N_("Choose a language from the list.")),
    (r".*each text is a string of at most 300 characters", N_("Each text may have at most 300 characters.")),
    (r"reward ids must be unique", N_("Two rewards are the same; remove one.")),
    (r"reward .* names unknown tiers.*", N_("A reward is limited to a tier that no longer exists: untick it.")),
    (r"Input should be a valid integer.*|int", N_("Enter a whole number.")),
    (r"Input should be a valid (?:decimal|number).*|Decimal input.*|decimal", N_("Enter a number.")),
    (r"Input should be a valid datetime.*|Input should be a valid date.*", N_("Enter a date and time.")),
    (r"Field required", N_("This is needed.")),
    (r"Input should be .*", N_("Choose one of the options.")),
]


def human(message: str) -> str:
    t = i18n.current()
    for rx, text in MESSAGES:
        m = re.fullmatch(rx, message.strip(), flags=re.S)
        if m:
            params = {k: t.number(Decimal(v)) for k, v in m.groupdict().items() if v}
            if "high" in params and "low" not in params:
                params["low"] = t.number(0)
            return t.gettext(text, **params)
    return t.gettext(N_("Check this value."))


def place(fields: list[dict], doc: dict) -> dict[str, str]:
    """The parser's errors (program paths) → form paths, in words. Custom actions are rows by
    position in the form; the parser names them by event name."""
    keys = [row.get("__key") for row in (get(doc, "actions.custom") or []) if isinstance(row, dict)]
    out: dict[str, str] = {}
    for f in fields:
        path = f["field"]
        head = "actions.custom."
        if path.startswith(head):
            key, _, rest = path[len(head):].partition(".")
            if key in keys:
                path = f"{head}{keys.index(key)}" + (f".{rest}" if rest else "")
        message = human(f["message"])
        out[path] = f"{out[path]} {message}" if path in out and message not in out[path] else message
    return out


# -- what the templates use ---------------------------------------------------------------
def currency_symbol(currency: str) -> str:
    return get_currency_symbol(currency, locale=i18n.current().locale)


def unit_text(unit: str, currency: str, basis: str = "points_earned") -> str:
    t = i18n.current()
    if unit == "money" or (unit == "basis" and basis == "money_spent"):
        return currency_symbol(currency)
    if unit == "basis":
        return t.gettext(UNITS["points"])
    if unit == "percent":
        return "%"
    if unit == "factor":
        return "×"
    return t.gettext(UNITS[unit]) if unit in UNITS else ""


@dataclass
class Input:
    """One input as the field macro draws it."""
    name: str
    id: str
    kind: str
    label: str
    help: str
    unit: str
    value: object
    error: str | None
    choices: list = field(default_factory=list)

    @property
    def text(self) -> str:
        v = self.value
        if v is None:
            return ""
        if isinstance(v, list):
            return ("\n" if self.kind == "lines" else ", ").join(str(x) for x in v)
        if self.kind == "datetime":
            return str(v)[:16]
        return str(v)


class Form:
    """The page's inputs over the document being edited, with errors placed next to them."""

    def __init__(self, doc: dict, errors: dict[str, str], currency: str, tier_names: list[str],
                 segments: list[tuple[int, str]] | None = None) -> None:
        self.doc, self.errors, self.currency = doc, errors, currency
        self.tier_names = tier_names
        self.segments = list(segments or [])  # the shop's segments (id, name): targeting's choices
        self.used: set[str] = set()

    def value(self, path: str, default=None):
        return get(self.doc, path, default)

    def error(self, path: str) -> str | None:
        if path in self.errors:
            self.used.add(path)
            return self.errors[path]
        return None

    def rows(self, path: str) -> list:
        value = self.value(path)
        return list(enumerate(value)) if isinstance(value, list) else []

    def input(self, path: str, label: str | None = None) -> Input:
        t = i18n.current()
        s = spec(path) or F(label or "", "", "text")
        cur = currency_symbol(self.currency)
        basis = self.value("tiers.basis", "points_earned")
        choices: list = []
        if s.kind == "choice":
            choices = [(v, t.gettext(lab)) for v, lab in s.choices]
        elif s.kind == "weekdays":
            choices = [(i, t.gettext(d)) for i, d in enumerate(DAYS)]
        elif s.kind == "tiers":
            choices = [(n, n) for n in self.tier_names]
        elif s.kind == "segments":
            choices = list(self.segments)
            known = {v for v, _ in choices}  # one ticked that is gone stays visible, so it can be unticked
            choices += [(v, f"#{v}") for v in (self.value(path) or []) if v not in known]
        elif s.kind == "locale":
            choices = [(code, t.language(code).capitalize()) for code in i18n.LOCALES]
        elif s.kind == "timezone":
            choices = timezones()
            current = self.value(path)
            if current and all(v != current for v, _ in choices):  # an alias the shop already uses stays
                choices = [(current, str(current))] + choices
        value, kind = self.value(path), s.kind
        if kind == "awaredatetime":  # shown, and typed, as the shop's wall-clock time
            value, kind = local_text(value, self.value("timezone") or "UTC"), "datetime"
        return Input(name=path, id="f-" + path.replace(".", "-"), kind=kind,
                     label=label or t.gettext(s.label, cur=cur), help=t.gettext(s.help) if s.help else "",
                     unit=unit_text(s.unit, self.currency, basis), value=value, error=self.error(path),
                     choices=choices)

    def legend(self, path: str) -> str:
        s = spec(path)
        return i18n.current().gettext(s.label, cur=currency_symbol(self.currency)) if s else ""

    def leftovers(self) -> list[tuple[str, str]]:
        """Errors no input on the page took: said with the nearest label we have."""
        out = []
        for path, message in self.errors.items():
            if path in self.used:
                continue
            parts = path.split(".")
            label = next((self.legend(".".join(parts[:n])) for n in range(len(parts), 0, -1)
                          if spec(".".join(parts[:n]))), "")
            out.append((label, message))
        return out


@cache
def _zones(locale: str) -> tuple[tuple[str, str], ...]:
    from zoneinfo import available_timezones

    from babel import Locale
    from babel.core import get_global
    from babel.dates import get_timezone_location

    names = Locale.parse(locale).territories
    where = get_global("zone_territories")
    out = []
    for z in available_timezones():
        if "/" not in z or z not in where:  # aliases and Etc/ zones have no country: the canonical names do
            continue
        city = get_timezone_location(z, locale=locale, return_city=True)
        country = names.get(where.get(z, ""), "")
        out.append((z, f"{country} – {city}" if country and country != city else city))
    return (("UTC", "UTC"),) + tuple(sorted(out, key=lambda zl: zl[1].casefold()))


def timezones() -> list[tuple[str, str]]:
    """Every time zone as the admin's language names it ("Italia – Roma", "Stati Uniti – New York"),
    sorted by that name; the value is the IANA name."""
    return list(_zones(i18n.current().locale))


# -- versions in words --------------------------------------------------------------------
def author_text(author: str | None) -> str:
    """Who made a version, as a person reads it (the same words as the member ledger's)."""
    from ..services.member_admin import who

    t = i18n.current()
    if author == "system":
        return t.gettext(N_("Default program"))
    return who(author, None, t)


SWITCHES = {
    "live": (N_("Program switched on (live)"), N_("Program paused")),
    "earning.enabled": (N_("Points on orders switched on"), N_("Points on orders switched off")),
    "tiers.enabled": (N_("VIP tiers switched on"), N_("VIP tiers switched off")),
    "referrals.enabled": (N_("Referrals switched on"), N_("Referrals switched off")),
    "cashback.enabled": (N_("Cashback switched on"), N_("Cashback switched off")),
    "store_credit.enabled": (N_("Spending store credit switched on"), N_("Spending store credit switched off")),
}
ITEMS = {"tiers.levels": (N_("Tier added: %(name)s"), N_("Tier removed: %(name)s")),
         "rewards": (N_("Reward added: %(name)s"), N_("Reward removed: %(name)s")),
         "campaigns": (N_("Campaign added: %(name)s"), N_("Campaign removed: %(name)s")),
         "earning.multipliers": (N_("Extra points added: %(name)s"), N_("Extra points removed: %(name)s")),
         "cashback.boosts": (N_("Cashback boost added: %(name)s"), N_("Cashback boost removed: %(name)s")),
         "actions.custom": (N_("Action added: %(name)s"), N_("Action removed: %(name)s"))}


def _show(value, s: F | None, currency: str) -> str:
    t = i18n.current()
    if value is None or value == "" or value == []:
        return t.gettext(N_("none"))
    if isinstance(value, bool):
        return t.gettext(N_("yes")) if value else t.gettext(N_("no"))
    if s is not None and s.kind == "choice":
        return next((t.gettext(lab) for v, lab in s.choices if v == value), str(value))
    if s is not None and s.kind == "weekdays":
        return ", ".join(t.gettext(DAYS[d]) for d in value if isinstance(d, int) and 0 <= d < 7)
    if s is not None and s.kind == "locale":
        return t.language(value).capitalize() if value in i18n.LOCALES else str(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "…"
    if s is not None and s.kind in ("int", "decimal", "optint", "optdecimal"):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return str(value)
        if s.unit == "money":
            return t.money(number, currency)
        if s.unit == "percent":
            return t.rate(number)
        if s.unit == "factor":
            return "×" + t.number(number)
        text = t.number(number)
        return f"{text} {unit_text(s.unit, currency)}".strip() if s.unit in UNITS else text
    if s is not None and s.kind in ("datetime", "awaredatetime"):  # said as the reader writes dates
        from datetime import datetime

        try:
            return t.datetime(datetime.fromisoformat(str(value)))
        except (TypeError, ValueError):
            return str(value)[:16].replace("T", " ")
    return str(value)


def _item_name(item, i: int) -> str:
    """A row as the reader knows it: a reward by its name in the reader's language."""
    if isinstance(item, dict):
        names = item.get("names") if isinstance(item.get("names"), dict) else {}
        if isinstance(item.get("text"), dict) and item["text"]:  # a survey question or choice: its text
            texts = item["text"]
            return str(texts.get(i18n.current().locale) or next(iter(texts.values())))
        return str(names.get(i18n.current().locale) or item.get("name") or item.get("label") or item.get("__key") or i + 1)
    return str(i + 1)


def diff(old: dict, new: dict, currency: str, limit: int = 60) -> list[str]:
    """What changed from `old` to `new` (program JSON), in the reader's words."""
    t = i18n.current()
    out: list[str] = []

    def label_of(path: str) -> str:
        s = spec(path)
        if s is not None:
            return t.gettext(s.label, cur=currency_symbol(currency))
        return ""

    def walk(a, b, path: str, context: list[str]) -> None:
        if a == b or len(out) > limit:
            return
        if (path in SWITCHES or pattern(path) in SWITCHES) and isinstance(a, bool) and isinstance(b, bool):
            out.append(" – ".join(context + [t.gettext((SWITCHES.get(path) or SWITCHES[pattern(path)])[0 if b else 1])]))
            return
        pat = pattern(path) if path else ""
        if pat in ITEMS and isinstance(a, list) and isinstance(b, list):
            added, removed = ITEMS[pat]
            for i in range(max(len(a), len(b))):
                if i >= len(a):
                    out.append(t.gettext(added, name=_item_name(b[i], i)))
                elif i >= len(b):
                    out.append(t.gettext(removed, name=_item_name(a[i], i)))
                else:
                    walk(a[i], b[i], f"{path}.{i}", context + [_item_name(b[i], i)])  # a rename: its name field
            return
        if isinstance(a, dict) and isinstance(b, dict):
            group = label_of(path) if path and not pattern(path).endswith("*") else ""
            here = context + [group] if group else context
            for key in list(dict.fromkeys(list(a) + list(b))):
                walk(a.get(key), b.get(key), f"{path}.{key}" if path else key, here)
            return
        if isinstance(a, dict) or isinstance(b, dict):  # an optional group set or cleared
            label = label_of(path) or t.gettext(N_("Settings"))
            out.append(" – ".join(context + [t.gettext(N_("%(what)s changed"), what=label)]))
            return
        s = spec(path)
        parent, _, last = path.rpartition(".")
        if last in i18n.LOCALES and parent and not pattern(parent).endswith("*"):  # a text per language
            label = t.language(last).capitalize()
        else:
            label = label_of(path) or t.gettext(N_("Other settings"))
        out.append(" – ".join(context + [f"{label}: {_show(a, s, currency)} → {_show(b, s, currency)}"]))

    walk(to_form(old), to_form(new), "", [])
    if len(out) > limit:
        out = out[:limit] + ["…"]
    return out


def preview_lines(preview: dict | None, currency: str) -> list[str]:
    """The change preview (who changes tier, which sample orders earn differently) in words."""
    if not preview:
        return []
    t = i18n.current()
    out = [t.ngettext("%(num)s member would move from %(before)s to %(after)s",
                      "%(num)s members would move from %(before)s to %(after)s", m["members"],
                      before=m["from"] or t.gettext(N_("no tier")), after=m["to"] or t.gettext(N_("no tier")))
           for m in preview.get("tier_moves", [])]
    for o in preview.get("orders", []):
        line = t.gettext(N_("A %(order)s order would earn %(after)s points instead of %(before)s"),
                         order=t.money(Decimal(o["order"]), currency), after=t.number(o["points_after"]),
                         before=t.number(o["points_before"]))
        if o["cashback_before"] != o["cashback_after"]:
            line += " · " + t.gettext(N_("%(after)s cashback instead of %(before)s"),
                                      after=t.money(Decimal(o["cashback_after"]), currency),
                                      before=t.money(Decimal(o["cashback_before"]), currency))
        out.append(line)
    return out


# -- badges, challenges, leaderboard, survey, segment thresholds (issue 20) ----------------
# Texts per language: the dicts whose keys are language codes (their leaves are one input each).
LANG_DICTS = ("badges.*.names", "challenges.*.names", "survey.questions.*.text", "survey.questions.*.choices.*.text")
EVENT_HELP = N_("The name your site or app sends us, e.g. quiz-done.")
FIELDS.update({
    "badges": F(N_("Badges")),
    "badges.*.name": F(N_("Name customers see"), "", "text"),
    "badges.*.names": F(N_("Name in other languages"), N_("Empty: the name above."), "text"),
    "badges.*.names.*": F(N_("Name in other languages"), "", "text"),
    "badges.*.rule": F(N_("How it is earned")),
    "badges.*.rule.kind": F(N_("Earned for"), "", "choice",
                            choices=(("first_order", N_("The first order")), ("orders_count", N_("A number of orders")),
                                     ("spend", N_("Spending an amount")), ("reviews", N_("Product reviews")),
                                     ("referrals", N_("Friends referred")),
                                     ("order_streak_months", N_("Months in a row with an order")),
                                     ("custom_event", N_("An event from your site or app")))),
    "badges.*.rule.n": F(N_("How many"), N_("Orders, reviews, friends, months in a row or events, as chosen above."),
                         "int", "times"),
    "badges.*.rule.amount": F(N_("Amount spent"), N_("Refunded and cancelled orders do not count."), "decimal", "money"),
    "badges.*.rule.period": F(N_("Spent within"), "", "choice",
                              choices=(("lifetime", N_("All time")), ("calendar_year", N_("This calendar year")),
                                       ("rolling_12_months", N_("The last 12 months")))),
    "badges.*.rule.event": F(N_("Event name"), EVENT_HELP, "text"),
    "badges.*.reward": F(N_("On earning")),
    "badges.*.reward.kind": F(N_("On earning, the customer gets"), "", "choice",
                              choices=(("none", N_("Just the badge")), ("points", N_("The badge and points")))),
    "badges.*.reward.points": F(N_("Points"), "", "int", "points"),
    "badges.*.repeatable": F(N_("Can be earned again"),
                             N_("Each time the count is reached again, e.g. every 5 orders. Not for the first order."), "bool"),
    "badges.*.max_times": F(N_("Earned at most"), N_("Only for a badge earned again. Empty: no limit."), "optint", "times"),
    "badges.*.enabled": F(N_("On: shown to customers and earned"), "", "bool"),
    "challenges": F(N_("Challenges")),
    "challenges.*.name": F(N_("Name customers see"), "", "text"),
    "challenges.*.names": F(N_("Name in other languages"), N_("Empty: the name above."), "text"),
    "challenges.*.names.*": F(N_("Name in other languages"), "", "text"),
    "challenges.*.starts_at": F(N_("Starts"), N_("In the shop's time zone."), "datetime"),
    "challenges.*.ends_at": F(N_("Ends"), N_("What happens before this moment counts."), "datetime"),
    "challenges.*.goal": F(N_("Goal")),
    "challenges.*.goal.kind": F(N_("Goal"), "", "choice",
                                choices=(("orders_count", N_("A number of orders")), ("spend", N_("Spending an amount")),
                                         ("custom_event", N_("An event from your site or app")))),
    "challenges.*.goal.n": F(N_("How many"), N_("Orders or events between the start and the end."), "int", "times"),
    "challenges.*.goal.amount": F(N_("Amount to spend"), N_("Between the start and the end; refunds count against it."),
                                  "decimal", "money"),
    "challenges.*.goal.event": F(N_("Event name"), EVENT_HELP, "text"),
    "challenges.*.points": F(N_("Points for reaching the goal"),
                             N_("Given once the challenge ends, for what is still kept then."), "int", "points"),
    "challenges.*.enrollment": F(N_("Who takes part"), "", "choice",
                                 choices=(("automatic", N_("Every member, automatically")),
                                          ("opt_in", N_("Members who join it in the widget")))),
    "leaderboard": F(N_("Leaderboard")),
    "leaderboard.enabled": F(N_("Leaderboard is on"),
                             N_("Only customers who choose to join appear, under a display name they pick."), "bool"),
    "leaderboard.period": F(N_("Ranks the points earned"), N_("Periods follow the shop's time zone."), "choice",
                            choices=(("month", N_("This month")), ("year", N_("This year")), ("all_time", N_("All time")))),
    "leaderboard.size": F(N_("Places shown"), N_("From 1 to 100."), "int", "places"),
    "survey": F(N_("Feedback survey")),
    "survey.id": F(N_("Survey identifier"), N_("A new one is a new survey: everyone may answer it once."), "text"),
    "survey.enabled": F(N_("The survey is on"), N_("Members answer it once, in the widget."), "bool"),
    "survey.points": F(N_("Points for answering"), N_("Given once per member. 0: no points."), "int", "points"),
    "survey.questions": F(N_("Questions")),
    "survey.questions.*.kind": F(N_("Kind of answer"), "", "choice",
                                 choices=(("rating", N_("A rating from 1 to 5")), ("choice", N_("One of your choices")),
                                          ("text", N_("A short text")))),
    "survey.questions.*.text": F(N_("Question"), N_("Write it in at least one language; the others show that one."), "text"),
    "survey.questions.*.text.*": F(N_("Question"), "", "text"),
    "survey.questions.*.choices": F(N_("Choices")),
    "survey.questions.*.choices.*.text": F(N_("Choice")),
    "survey.questions.*.choices.*.text.*": F(N_("Choice"), "", "text"),
    "segments": F(N_("Segments")),
    "segments.lifecycle": F(N_("Lifecycle states")),
    "segments.lifecycle.new_days": F(N_("New for"), N_("A member without an order yet, or whose only order is this recent."),
                                     "int", "days"),
    "segments.lifecycle.at_risk_days": F(N_("At risk after"), N_("No order for more than this many days."), "int", "days"),
    "segments.lifecycle.lapsed_days": F(N_("Lapsed after"), N_("No order for more than this many days: more than at risk."),
                                        "int", "days"),
    "segments.lifecycle.loyal_orders": F(N_("Loyal from"), N_("Members with at least this many orders and a recent one."),
                                         "int", "orders"),
    "segments.rfm": F(N_("RFM scores")),
    "segments.rfm.recency_days": F(N_("Recency: days since the last order")),
    "segments.rfm.recency_days.*": F(N_("Recency: days since the last order"), "", "int", "days"),
    "segments.rfm.frequency_orders": F(N_("Frequency: orders")),
    "segments.rfm.frequency_orders.*": F(N_("Frequency: orders"), "", "int", "orders"),
    "segments.rfm.monetary_value": F(N_("Monetary: lifetime value")),
    "segments.rfm.monetary_value.*": F(N_("Monetary: lifetime value"), "", "decimal", "money"),
})
UNITS["places"] = N_("places")
SWITCHES.update({
    "leaderboard.enabled": (N_("Leaderboard switched on"), N_("Leaderboard switched off")),
    "survey.enabled": (N_("Survey switched on"), N_("Survey switched off")),
    "badges.*.enabled": (N_("Switched on"), N_("Switched off")),
})
ITEMS.update({"badges": (N_("Badge added: %(name)s"), N_("Badge removed: %(name)s")),
              "challenges": (N_("Challenge added: %(name)s"), N_("Challenge removed: %(name)s")),
              "survey.questions": (N_("Question added: %(name)s"), N_("Question removed: %(name)s")),
              "survey.questions.*.choices": (N_("Choice added: %(name)s"), N_("Choice removed: %(name)s"))})


def _next_months() -> tuple[str, str]:
    from datetime import date

    today = date.today()
    start = date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return f"{start.isoformat()}T00:00:00", f"{end.isoformat()}T00:00:00"


LISTS.update({
    "badges": lambda doc: {"id": "", "name": "", "rule": {"kind": "orders_count", "n": 5, "amount": "0",
                                                          "period": "lifetime", "event": ""},
                           "reward": {"kind": "points", "points": 50}, "repeatable": False, "max_times": None,
                           "names": {}, "enabled": True},
    "challenges": lambda doc: {"id": "", "name": "", "starts_at": _next_months()[0], "ends_at": _next_months()[1],
                               "goal": {"kind": "orders_count", "n": 3, "amount": "0", "event": ""}, "points": 100,
                               "enrollment": "automatic", "names": {}},
    "survey.questions": lambda doc: {"id": "", "kind": "rating", "text": {}, "choices": []},
    "survey.questions.*.choices": lambda doc: {"id": "", "text": {}},
})
PAGES.update({"badges": ("badges", "challenges"), "engagement": ("leaderboard", "survey"), "segments": ("segments",)})
PAGE_TITLES.update({"badges": N_("Badges & challenges"), "engagement": N_("Leaderboard & survey"),
                    "segments": N_("Lifecycle and RFM thresholds")})
MESSAGES[0:0] = [
    (r"name the custom event.*", N_("Use only letters, digits, - and _ (at most 64).")),
    (r".*: a name is at most (?P<n>\d+) characters", N_("At most %(n)s characters.")),
    (r"a first order happens once", N_("A first order happens only once: untick “Can be earned again”.")),
    (r"only a repeatable badge has a limit", N_("Only a badge earned again has a limit: leave this empty.")),
    (r"give the text in at least one language", N_("Write it in at least one language.")),
    (r"[a-z]{2}: 1 to (?P<n>\d+) characters", N_("At most %(n)s characters.")),
    (r"a choice question has 2 to 10 choices", N_("Give 2 to 10 choices.")),
    (r"choice ids must be unique|question ids must be unique", N_("Two are the same; remove one.")),
    (r"at most 5 questions", N_("At most 5 questions.")),
    (r"an enabled survey needs 1 to 5 questions", N_("Add a question, or switch the survey off.")),
    (r"four thresholds, (?:strictly )?ascending", N_("Each number must be more than the one before it.")),
    (r"thresholds must not be negative", N_("Must not be below 0.")),
    (r"must be above at_risk_days and at most 3650", N_("Must be more than “at risk after”, and at most 3,650 days.")),
]


def _slug_ids(rows: list, prefix: str, source) -> None:
    """Rows the merchant adds get an id from their name (kept once given: ids are the history's)."""
    taken = {r.get("id") for r in rows if isinstance(r, dict) and r.get("id")}
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict) or row.get("id"):
            continue
        base = re.sub(r"[^a-z0-9]+", "-", str(source(row) or "").lower()).strip("-")[:30] or f"{prefix}{n}"
        rid, k = base, 2
        while rid in taken:
            rid, k = f"{base}-{k}", k + 1
        row["id"] = rid
        taken.add(rid)


def engagement_rows(doc: dict, owned: tuple, adding: bool = False) -> None:
    """Ids for new badges, challenges, questions and choices; languages left empty dropped; what
    the chosen kind does not use cleared (a limit without repeating, points without a points reward).
    A shape the form cannot make (a posted group name) is left for the parser to refuse."""
    def rows(value) -> list[dict]:
        return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []

    def texts(row: dict, key: str) -> None:
        if isinstance(row.get(key), dict):
            row[key] = {k: v for k, v in row[key].items() if v}

    if "badges" in owned:
        badges = rows(doc.get("badges"))
        _slug_ids(badges, "badge", lambda r: r.get("name"))
        for b in badges:
            texts(b, "names")
            if not b.get("repeatable"):
                b["max_times"] = None
            if isinstance(b.get("reward"), dict) and b["reward"].get("kind") == "none":
                b["reward"]["points"] = 0
    if "challenges" in owned:
        challenges = rows(doc.get("challenges"))
        _slug_ids(challenges, "challenge", lambda r: r.get("name"))
        for c in challenges:
            texts(c, "names")
    if "survey" in owned and isinstance(doc.get("survey"), dict):
        questions = rows(doc["survey"].get("questions"))
        for q in questions:
            texts(q, "text")
            choices = rows(q.get("choices"))
            for c in choices:
                texts(c, "text")
            # a choice left empty is no choice (once the merchant saves: a row just added is empty);
            # only a choice question has choices
            q["choices"] = [c for c in choices if c.get("text") or adding] if q.get("kind") == "choice" else []
        _slug_ids(questions, "q", lambda r: "")
        for q in questions:
            _slug_ids(q["choices"], "c", lambda r: "")
