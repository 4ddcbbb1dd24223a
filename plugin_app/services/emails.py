"""Shopper emails as they are sent: subject, a plain-text part and an HTML part, in the reader's
language, with the shop's name, logo and colour.

Our default wording lives in the message catalogue (English ids with %(name)s placeholders,
translated in every shipped language); the merchant may reword any kind per language in the
program (`notifications.<kind>.subject[lang]`, `.body[lang]`, with {name} placeholders). Both
are filled with values already formatted for the reader's locale (money, numbers, dates in
the shop's time zone), then drawn by the template files in plugin_app/templates/email/
(`<kind>.html` and `<kind>.txt`, extending `base.html` and `base.txt`): jinja2 directly (no
Flask), autoescaped for HTML, with the catalogue's `_()` installed."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .. import i18n
from ..domain.notifications import KINDS, PLACEHOLDERS, fill
from ..i18n import N_

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "email"

# kind -> (subject, body, button): English message ids; paragraphs are separated by a blank line.
DEFAULTS: dict[str, tuple[str, str, str]] = {
    "welcome": (N_("Welcome to %(shop)s rewards"),
                N_("Hi %(name)s,\n\nyou are now a member of %(shop)s rewards and have %(balance)s points. "
                   "Every order earns more."),
                N_("See your rewards")),
    "points_earned": (N_("You earned %(points)s points"),
                      N_("Hi %(name)s,\n\nyour order %(order)s earned %(points)s points. "
                         "Your balance is now %(balance)s points."),
                      N_("See your points")),
    "reward_unlocked": (N_("You can now get %(reward)s"),
                        N_("Hi %(name)s,\n\nwith %(balance)s points you can now get %(reward)s on your next order."),
                        N_("Use your points")),
    "cashback_available": (N_("%(amount)s of cashback is ready to spend"),
                           N_("Hi %(name)s,\n\n%(amount)s of cashback is now available as store credit at %(shop)s."),
                           N_("Shop now")),
    "tier_reached": (N_("Welcome to %(tier)s"),
                     N_("Hi %(name)s,\n\nyou have reached the %(tier)s tier at %(shop)s. "
                        "Enjoy its benefits on your next orders."),
                     N_("See your benefits")),
    "tier_lost": (N_("Your tier is now %(tier)s"),
                  N_("Hi %(name)s,\n\nyour tier at %(shop)s has changed from %(previous_tier)s to %(tier)s. "
                     "Order again to climb back."),
                  N_("Shop now")),
    "points_expiring": (N_("%(points)s points expire on %(date)s"),
                        N_("Hi %(name)s,\n\n%(points)s of your points expire on %(date)s (in %(days)s days). "
                           "Use them before then."),
                        N_("Use your points")),
    "referral_rewarded": (N_("Thanks for referring a friend"),
                          N_("Hi %(name)s,\n\nyour friend ordered, and you were rewarded: %(reward)s."),
                          N_("See your rewards")),
    "birthday_reward": (N_("Happy birthday from %(shop)s"),
                        N_("Hi %(name)s,\n\nhappy birthday! Here are %(points)s points from %(shop)s."),
                        N_("Treat yourself")),
}
assert set(DEFAULTS) == set(KINDS)
TITLES = {"welcome": N_("Welcome"), "points_earned": N_("Points earned"), "reward_unlocked": N_("Reward unlocked"),
          "cashback_available": N_("Cashback ready"), "tier_reached": N_("New tier reached"),
          "tier_lost": N_("Tier lowered"), "points_expiring": N_("Points about to expire"),
          "referral_rewarded": N_("Referral rewarded"), "birthday_reward": N_("Birthday reward")}
BRACES = {p: "{" + p + "}" for p in PLACEHOLDERS}  # a catalogue text in the merchant's {name} syntax


def default_wording(kind: str, lang: str) -> tuple[str, str]:
    """Our subject and body for `kind` in `lang`, with {placeholders} as a merchant writes them
    (what the admin shows in an empty field)."""
    t = i18n.translator(lang)
    subject, body, _ = DEFAULTS[kind]
    return t.gettext(subject, **BRACES), t.gettext(body, **BRACES)


@dataclass(frozen=True)
class Brand:
    """How the shop looks in its emails."""
    name: str
    url: str  # the storefront, where the button leads
    colour: str = "#1f6feb"
    logo_url: str = ""

    @property
    def on_colour(self) -> str:
        """Black or white, whichever reads better on `colour` (WCAG relative luminance)."""
        m = re.fullmatch(r"#([0-9a-fA-F]{2})([0-9a-fA-F]{2})([0-9a-fA-F]{2})", self.colour or "")
        if not m:
            return "#ffffff"
        def channel(h: str) -> float:
            c = int(h, 16) / 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
        lum = 0.2126 * channel(m[1]) + 0.7152 * channel(m[2]) + 0.0722 * channel(m[3])
        return "#111111" if (lum + 0.05) / 0.05 > 1.05 / (lum + 0.05) else "#ffffff"

    @property
    def ink(self) -> str:
        """The brand colour for text on white, unless it is too light to read there."""
        return self.colour if self.on_colour == "#ffffff" else "#27272a"


@cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
                      autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    i18n.install(env)
    return env


def _paragraphs(body: str) -> list[list[str]]:
    """A plain-text body as paragraphs (blank lines apart) of lines."""
    parts = re.split(r"\n\s*\n", body.replace("\r\n", "\n").strip())
    return [[line.strip() for line in p.split("\n")] for p in parts if p.strip()]


def render(kind: str, lang: str, setting, context: dict, brand: Brand) -> dict:
    """The email `kind` in `lang`: {"subject", "text", "html", "lang"}. `setting` is the
    program's `Email` for the kind (its wording in `lang` wins over ours); `context` maps the
    placeholders to values already formatted for `lang`."""
    lang = i18n.locale_of(lang)
    own_subject, own_body = setting.wording(lang) if setting is not None else ("", "")
    default_subject, default_body = default_wording(kind, lang)
    subject = re.sub(r"[ \t\r\n]+", " ", fill(own_subject or default_subject, context)).strip()[:200]  # keeps no-break spaces
    body = fill(own_body or default_body, context)
    paragraphs = _paragraphs(body)
    # the preheader (the line inboxes show after the subject): the first paragraph that is not
    # just the greeting
    lead = next((" ".join(p) for p in paragraphs if len(" ".join(p)) > 30), " ".join(paragraphs[0]) if paragraphs else "")
    values = dict(kind=kind, lang=lang, subject=subject, paragraphs=paragraphs, body=body.strip(),
                  preheader=lead[:140], brand=brand, button=DEFAULTS[kind][2], shop=brand.name,
                  unsubscribe_url=str(context.get("unsubscribe_url") or ""), v=context)
    env = environment()
    with i18n.using(lang):
        html = env.get_template(f"{kind}.html").render(**values)
        text = env.get_template(f"{kind}.txt").render(**values)
    return {"subject": subject, "text": text, "html": html, "lang": lang}
