"""Every text the storefront widgets show, by key, with its English default: the catalogue
(`shopper` area) translates it, and a merchant may replace any of them per language
(`program.widget.texts[locale][key]`, with `{name}` placeholders).

    WIDGET_TEXTS["to_next"]              -> "%(num)s more point to reach %(tier)s" (a plural)
    texts("it", program.widget.texts)    -> {"title": "Premi", ...}  (what the widget loads)
    default("it", "title")               -> "Premi"  (what a settings page shows as the default)

`WIDGET_TEXTS` is the table a settings page offers one labelled input per key and language for
(show `default(locale, key)` as each input's placeholder); `WIDGET_PLURALS` names the keys that
have a plural form (their English plural stands in `WIDGET_TEXTS`): the widget's server renders
those with the number (a merchant's override is used for any number).
Placeholders: the catalogue's `%(name)s` are written `{name}` for merchants and for the widget.
"""
from __future__ import annotations

import re
from functools import lru_cache

from ..i18n import N_, Translator, locale_of, translator


def ngettext(singular: str, plural: str) -> tuple[str, str]:
    """Marks a plural text for the catalogue (the extractor reads `ngettext` calls); translated
    where it is shown, with its number."""
    return singular, plural


WIDGET_TEXTS: dict[str, str] = {
    # the launcher and the panel's frame
    "launcher": N_("Rewards"),
    "title": N_("Rewards"),
    "close": N_("Close"),
    "loading": N_("Loading…"),
    "error": N_("Something went wrong. Please try again."),
    # a guest
    "join_title": N_("Join our rewards program"),
    "join_text": N_("Earn points on every order and spend them on your next one."),
    "join": N_("Create an account"),
    "paused": N_("The rewards program is paused: orders earn no points for now. Your points and rewards stay yours."),
    # a member's balances and tier
    "points_unit": "points",  # plural: WIDGET_PLURALS
    "pending": N_("%(points)s pending"),
    "credit": N_("Store credit: %(amount)s"),
    "pending_credit": N_("%(amount)s pending"),
    "expiring": "%(points)s points expire on %(date)s",  # plural: WIDGET_PLURALS
    "tier": N_("Tier: %(tier)s"),
    "tier_progress": N_("Progress to the next tier"),
    "to_next": "%(num)s more points to reach %(tier)s",  # plural: WIDGET_PLURALS
    "to_next_money": N_("Spend %(amount)s more to reach %(tier)s"),
    "top_tier": N_("You have reached the top tier"),
    # rewards and ways to earn
    "rewards": N_("Rewards"),
    "reward_cost": "%(num)s points",  # plural: WIDGET_PLURALS
    "can_afford": N_("You can use this"),
    "need": "%(num)s more points needed",  # plural: WIDGET_PLURALS
    "percent_off": N_("%(percent)s off"),
    "free_shipping": N_("Free shipping"),
    "free_product": N_("A free product"),
    "ways": N_("Ways to earn"),
    "order": "%(num)s points per %(amount)s spent",  # plural: WIDGET_PLURALS
    "signup": N_("Create an account"),
    "birthday": N_("Birthday"),
    "review": N_("Write a review"),
    "newsletter": N_("Sign up for the newsletter"),
    "social_follow": N_("Follow us on social media"),
    "social_share": N_("Share on social media"),
    "referral": N_("Refer a friend"),
    "way_points": "%(num)s points",  # plural: WIDGET_PLURALS
    "cashback": N_("%(rate)s back as store credit"),
    # activity
    "activity": N_("Recent activity"),
    # referrals
    "refer": N_("Refer a friend"),
    "refer_link": N_("Your referral link"),
    "copy": N_("Copy link"),
    "copied": N_("Copied"),
    "share": N_("Share"),
    # birthday
    "bday_title": N_("Your birthday"),
    "bday_ask": "Tell us your birthday and get %(num)s points on the day.",  # plural: WIDGET_PLURALS
    "bday_save": N_("Save"),
    "bday_is": N_("Your birthday: %(date)s"),
    "bday_locked": N_("To correct it, contact the shop."),
    # the cart widget
    "cart_earn": "This cart earns %(num)s points",  # plural: WIDGET_PLURALS
    "cart_cashback": N_("plus %(amount)s back as store credit"),
    "apply": N_("Apply"),
    "apply_reward": N_("Apply %(reward)s"),
    "applied": N_("Code %(code)s applied"),
    "remove": N_("Remove"),
    "remove_code": N_("Remove code %(code)s"),
    "sign_in": N_("Sign in to use your rewards"),
    # badges and challenges
    "badge_section": N_("Badges"),
    "badge_earned": N_("Badge earned"),
    "badge_times": N_("Earned %(times)s times"),
    "challenge_section": N_("Challenges"),
    "challenge_join": N_("Join"),
    "challenge_join_label": N_("Join the challenge %(challenge)s"),
    "challenge_joined": N_("You are taking part"),
    "challenge_open": N_("Join to take part"),
    "reward_points": "Reward: %(num)s points",  # plural: WIDGET_PLURALS
    # the leaderboard
    "lb_title": N_("Leaderboard"),
    "lb_intro": N_("Appear on the leaderboard under a name you choose. Your e-mail and your name are never shown."),
    "lb_name": N_("Display name"),
    "lb_join": N_("Join the leaderboard"),
    "lb_leave": N_("Leave the leaderboard"),
    "lb_metric": N_("points earned"),
    "lb_you": N_("You are number %(rank)s as %(name)s"),
    "lb_you_unranked": N_("You are on the board as %(name)s: earn points to be ranked."),
    "lb_empty": N_("No one is on the board yet."),
    "lb_rank": N_("Rank %(rank)s"),
    # the feedback survey
    "survey_title": N_("Your feedback"),
    "survey_reward": "Answer and get %(num)s points",  # plural: WIDGET_PLURALS
    "survey_rating": N_("%(value)s out of 5"),
    "survey_send": N_("Send"),
    "survey_missing": N_("Please answer every question."),
    "survey_thanks": N_("Thank you for your feedback!"),
}

# Keys whose text depends on a number: (singular, plural) as the catalogue has them.
WIDGET_PLURALS: dict[str, tuple[str, str]] = {
    "expiring": ngettext("%(points)s point expires on %(date)s", "%(points)s points expire on %(date)s"),
    "to_next": ngettext("%(num)s more point to reach %(tier)s", "%(num)s more points to reach %(tier)s"),
    "reward_cost": ngettext("%(num)s point", "%(num)s points"),
    "way_points": ngettext("%(num)s point", "%(num)s points"),
    "need": ngettext("%(num)s more point needed", "%(num)s more points needed"),
    "order": ngettext("%(num)s point per %(amount)s spent", "%(num)s points per %(amount)s spent"),
    "bday_ask": ngettext("Tell us your birthday and get %(num)s point on the day.",
                         "Tell us your birthday and get %(num)s points on the day."),
    "cart_earn": ngettext("This cart earns %(num)s point", "This cart earns %(num)s points"),
    "points_unit": ngettext("point", "points"),
    "reward_points": ngettext("Reward: %(num)s point", "Reward: %(num)s points"),
    "survey_reward": ngettext("Answer and get %(num)s point", "Answer and get %(num)s points"),
}

def shopper_locale(program, requested: str | None) -> str:
    """The shopper's language: the storefront's (Shopify's `request.locale.iso_code`, WordPress's
    `determine_locale()`) when we ship it, else the shop's (the widget's configured language)."""
    return locale_of(requested, fallback=locale_of(program.widget.locale))


_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_BRACES = re.compile(r"\{(\w+)\}")


def braces(text: str) -> str:
    """'%(num)s points' -> '{num} points': the form merchants write and the widget fills."""
    return _PLACEHOLDER.sub(r"{\1}", text)


@lru_cache(maxsize=4096)  # the catalogue does not change while the process runs
def default(locale: str, key: str, n: int = 2) -> str:
    """A key's text in `locale` from the catalogue (the plural form for `n`), `{name}` placeholders."""
    t = translator(locale)
    if key in WIDGET_PLURALS:
        singular, plural = WIDGET_PLURALS[key]
        return braces(t._t.ngettext(singular, plural, n))
    return braces(t.gettext(WIDGET_TEXTS[key]))


def _overrides(custom: dict | None, locale: str) -> dict[str, str]:
    found = (custom or {}).get(locale) or {}
    return {k: v for k, v in found.items() if k in WIDGET_TEXTS and isinstance(v, str) and v.strip()}


@lru_cache(maxsize=64)
def _defaults(locale: str) -> dict[str, str]:
    """Every key's catalogue text in `locale`, in WIDGET_TEXTS's order (shared: never hand it out)."""
    return {key: default(locale, key) for key in WIDGET_TEXTS}


def _table(locale: str, mine: dict[str, str]) -> dict[str, str]:
    defaults = _defaults(locale)
    if not mine:
        return dict(defaults)
    return {key: mine.get(key) or text for key, text in defaults.items()}


def texts(locale: str, custom: dict | None = None) -> dict[str, str]:
    """Every widget text in `locale`: the merchant's own where given, else the catalogue's;
    `{name}` placeholders for the widget to fill."""
    return _table(locale, _overrides(custom, locale))


class Texts:
    """The widget's texts for one shopper, rendered with their values on the server."""

    def __init__(self, locale: str, custom: dict | None = None) -> None:
        self.t: Translator = translator(locale)
        self.locale = self.t.locale
        self.mine = _overrides(custom, self.locale)

    def __call__(self, key: str, n: int | None = None, **params: str) -> str:
        mine = self.mine.get(key)
        if mine is not None:
            values = {**params, **({"num": self.t.number(n)} if n is not None and "num" not in params else {})}
            values.setdefault("n", values.get("num", ""))  # the widget's older placeholder
            return _BRACES.sub(lambda m: str(values.get(m.group(1), m.group(0))), mine)
        if key in WIDGET_PLURALS and n is not None:
            singular, plural = WIDGET_PLURALS[key]
            return self.t.ngettext(singular, plural, n, **{"num": self.t.number(n), **params})
        return self.t.gettext(WIDGET_TEXTS[key], **params)

    def table(self) -> dict[str, str]:
        """The texts the browser fills itself (with `{name}` placeholders)."""
        return _table(self.locale, self.mine)
