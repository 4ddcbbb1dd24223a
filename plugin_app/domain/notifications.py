"""Shopper emails: which kinds exist, the placeholders a merchant's wording may use, and the
languages it may be given in. Pure: no I/O. The default wording (in every shipped language,
through the message catalogue) and the rendering (HTML and plain text from template files)
are in services.emails.

A merchant's text may use these placeholders: {name} {shop} {points} {balance} {reward}
{amount} {tier} {previous_tier} {date} {days} {order} {unsubscribe_url}. Unknown ones are
refused when the program is saved, so a typo never reaches a shopper."""
from __future__ import annotations

import string

PLACEHOLDERS = frozenset({"name", "shop", "points", "balance", "reward", "amount", "tier", "previous_tier",
                          "date", "days", "order", "unsubscribe_url"})
LANGUAGES = ("en", "it", "de", "fr", "es")  # the shipped languages (plugin_app.i18n.LOCALES)
KINDS = ("welcome", "points_earned", "reward_unlocked", "cashback_available", "tier_reached", "tier_lost",
         "points_expiring", "referral_rewarded", "birthday_reward")


def unknown_placeholders(text: str) -> list[str]:
    """Placeholders in `text` that rendering would not know (or a malformed brace)."""
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:
        return [f"malformed: {exc}"]
    return [n for n in names if n not in PLACEHOLDERS]


class Context(dict):
    """Rendering values; a placeholder with no value renders empty."""

    def __missing__(self, key: str) -> str:
        return ""


def fill(text: str, context: dict) -> str:
    """`text` with its {placeholders} replaced (validated texts only: see unknown_placeholders)."""
    return text.format_map(Context({k: "" if v is None else str(v) for k, v in context.items()}))


def legacy_email(doc: dict) -> dict:
    """An email setting as older documents gave it (`subject_en`, `body_en`, `subject_it`,
    `body_it`) in today's shape (`subject` and `body` maps per language). A value already in
    the maps wins over the old field; other keys are left for the parser to judge."""
    if not isinstance(doc, dict) or not any(k.startswith(("subject_", "body_")) for k in doc):
        return doc
    out = {k: v for k, v in doc.items() if not k.startswith(("subject_", "body_"))}
    for key, value in doc.items():
        head, _, lang = key.partition("_")
        if head in ("subject", "body") and key not in ("subject", "body"):
            if lang not in LANGUAGES:
                out[key] = value  # not an old field: the parser refuses it by name
                continue
            texts = dict(out.get(head) or {}) if isinstance(out.get(head, {}), dict) else out[head]
            if isinstance(texts, dict) and value and not texts.get(lang):
                texts[lang] = value
            out[head] = texts
    return out
