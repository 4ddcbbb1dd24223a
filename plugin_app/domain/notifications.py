"""Shopper emails: which event sends which email, the default wording in English and Italian,
and rendering with a shop's own wording. Pure: no I/O.

A merchant's text may use these placeholders: {name} {shop} {points} {balance} {reward}
{amount} {tier} {previous_tier} {date} {days} {order} {unsubscribe_url}. Unknown ones are
refused when the program is saved, so a typo never reaches a shopper."""
from __future__ import annotations

import string

PLACEHOLDERS = frozenset({"name", "shop", "points", "balance", "reward", "amount", "tier", "previous_tier",
                          "date", "days", "order", "unsubscribe_url"})

# email kind -> (subject, body) per language
DEFAULTS: dict[str, dict[str, tuple[str, str]]] = {
    "welcome": {
        "en": ("Welcome to {shop} rewards", "Hi {name},\n\nyou are now a member of {shop} rewards and have "
               "{balance} points. Every order earns more.\n"),
        "it": ("Benvenuto nel programma fedeltà di {shop}", "Ciao {name},\n\nora fai parte del programma fedeltà "
               "di {shop} e hai {balance} punti. Ogni ordine te ne fa guadagnare altri.\n"),
    },
    "points_earned": {
        "en": ("You earned {points} points", "Hi {name},\n\nyour order {order} earned {points} points. "
               "Your balance is now {balance} points.\n"),
        "it": ("Hai guadagnato {points} punti", "Ciao {name},\n\nil tuo ordine {order} ti ha fatto guadagnare "
               "{points} punti. Ora il tuo saldo è di {balance} punti.\n"),
    },
    "reward_unlocked": {
        "en": ("You can now get {reward}", "Hi {name},\n\nwith {balance} points you can now get {reward} "
               "on your next order.\n"),
        "it": ("Ora puoi ottenere {reward}", "Ciao {name},\n\ncon {balance} punti ora puoi ottenere {reward} "
               "sul tuo prossimo ordine.\n"),
    },
    "cashback_available": {
        "en": ("{amount} of cashback is ready to spend", "Hi {name},\n\n{amount} of cashback is now available "
               "as store credit at {shop}.\n"),
        "it": ("{amount} di cashback pronti da spendere", "Ciao {name},\n\n{amount} di cashback sono ora "
               "disponibili come credito da {shop}.\n"),
    },
    "tier_reached": {
        "en": ("Welcome to {tier}", "Hi {name},\n\nyou have reached the {tier} tier at {shop}.\n"),
        "it": ("Benvenuto nel livello {tier}", "Ciao {name},\n\nhai raggiunto il livello {tier} da {shop}.\n"),
    },
    "tier_lost": {
        "en": ("Your tier is now {tier}", "Hi {name},\n\nyour tier at {shop} has changed from {previous_tier} "
               "to {tier}. Order again to climb back.\n"),
        "it": ("Il tuo livello ora è {tier}", "Ciao {name},\n\nil tuo livello da {shop} è passato da "
               "{previous_tier} a {tier}. Ordina di nuovo per risalire.\n"),
    },
    "points_expiring": {
        "en": ("{points} points expire on {date}", "Hi {name},\n\n{points} of your points expire on {date} "
               "(in {days} days). Use them before then.\n"),
        "it": ("{points} punti scadono il {date}", "Ciao {name},\n\n{points} dei tuoi punti scadono il {date} "
               "(tra {days} giorni). Usali prima di allora.\n"),
    },
    "referral_rewarded": {
        "en": ("Thanks for referring a friend", "Hi {name},\n\nyour friend ordered, and you were rewarded: "
               "{reward}.\n"),
        "it": ("Grazie per aver invitato un amico", "Ciao {name},\n\nil tuo amico ha ordinato e hai ricevuto: "
               "{reward}.\n"),
    },
    "birthday_reward": {
        "en": ("Happy birthday from {shop}", "Hi {name},\n\nhappy birthday! Here are {points} points "
               "from {shop}.\n"),
        "it": ("Buon compleanno da {shop}", "Ciao {name},\n\nbuon compleanno! Ecco {points} punti da {shop}.\n"),
    },
}
KINDS = tuple(DEFAULTS)
FOOTER = {"en": "\n--\nYou get this because you are a member of {shop} rewards. Unsubscribe: {unsubscribe_url}\n",
          "it": "\n--\nRicevi questa email perché fai parte del programma fedeltà di {shop}. "
                "Disiscriviti: {unsubscribe_url}\n"}


def unknown_placeholders(text: str) -> list[str]:
    """Placeholders in `text` that rendering would not know (or a malformed brace)."""
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:
        return [f"malformed: {exc}"]
    return [n for n in names if n not in PLACEHOLDERS]


class _Context(dict):
    def __missing__(self, key: str) -> str:
        return ""


def render(kind: str, lang: str, subject: str, body: str, context: dict) -> tuple[str, str]:
    """The email's subject and plain-text body: the merchant's wording where given, else ours;
    the unsubscribe footer is always added."""
    lang = lang if lang in DEFAULTS[kind] else "en"
    default_subject, default_body = DEFAULTS[kind][lang]
    ctx = _Context({k: "" if v is None else str(v) for k, v in context.items()})
    out_subject = (subject or default_subject).format_map(ctx).replace("\n", " ").strip()
    out_body = (body or default_body).format_map(ctx) + FOOTER[lang].format_map(ctx)
    return out_subject[:200], out_body
