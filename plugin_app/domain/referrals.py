"""Referrals: codes people can read aloud, the normalisations that catch a shopper referring
themselves, and fraud rules that each decide block, hold or observe and say why."""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field

# No 0/O, 1/I/L, 5/S, 2/Z, 8/B: nothing a person can misread or mistype.
ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
CODE_LENGTH = 8  # 25^8 ≈ 1.5e11 codes per shop


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


IMPORTED = re.compile(r"[A-Z0-9_]{4,32}")  # a code brought from another app (domain.import_plan)


def ours(code: str) -> bool:
    return len(code) == CODE_LENGTH and all(ch in ALPHABET for ch in code)


def display(code: str) -> str:
    return f"{code[:4]}-{code[4:]}" if ours(code) else code


def clean_code(text: str) -> str | None:
    """What a shopper typed (any case, with or without the dash) → one of our codes, or None."""
    value = re.sub(r"[\s-]", "", str(text or "")).upper()
    return value if ours(value) else None


def clean_any_code(text: str) -> str | None:
    """What a shopper typed or a link carried → a stored code: ours (clean_code), or a code a
    member brought from another app, which keeps its letters, digits and underscores (4 to 32,
    dashes and spaces dropped, any case) so the links they shared still lead here."""
    value = re.sub(r"[\s-]", "", str(text or "")).upper()
    return value if ours(value) or IMPORTED.fullmatch(value) else None


# -- normalisations ----------------------------------------------------------------------------
GMAIL = {"gmail.com", "googlemail.com"}


def norm_email(email: str | None) -> str | None:
    """Lowercase; drop a +alias; Gmail ignores dots, so drop those too."""
    if not email or "@" not in email:
        return None
    local, _, domain = email.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in GMAIL:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}" if local else None


def norm_phone(phone: str | None) -> str | None:
    digits = re.sub(r"\D", "", phone or "")
    return digits[-9:] if len(digits) >= 7 else None  # the subscriber part, country code aside


def norm_address(address: dict | str | None) -> str | None:
    if not address:
        return None
    if isinstance(address, dict):
        parts = [address.get(k) for k in ("address1", "address_1", "address2", "address_2", "city", "zip",
                                           "postcode", "country_code", "country")]
        text = " ".join(str(p) for p in parts if p)
    else:
        text = address
    text = re.sub(r"[^\w\s]", " ", text.casefold())
    text = re.sub(r"\s+", " ", text).strip()
    return text or None


def fingerprint(kind: str, value: str | None, salt: str) -> str | None:
    """Store and compare hashes, not the personal data itself."""
    if not value:
        return None
    return hashlib.sha256(f"{salt}:{kind}:{value}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Facts:
    """What is known about one side, as fingerprints (see `fingerprint`)."""
    customer_id: str | None = None
    emails: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()
    addresses: frozenset[str] = frozenset()
    payments: frozenset[str] = frozenset()
    ips: frozenset[str] = frozenset()
    devices: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Context:
    prior_orders: int = 0  # the friend's orders before this one
    referrals_from_ip_7d: int = 0  # this one included
    referrer_referrals_today: int = 0  # this one included
    order_reversed: bool = False


@dataclass(frozen=True)
class Finding:
    rule: str
    mode: str  # block, hold, observe
    evidence: str


@dataclass(frozen=True)
class Verdict:
    outcome: str  # ok, hold, block
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def reason(self) -> str:
        decisive = [f for f in self.findings if f.mode == self.outcome] or list(self.findings)
        return "; ".join(f.evidence for f in decisive) if decisive else "passed every check"


def judge(modes: dict[str, str], referrer: Facts, friend: Facts, ctx: Context, *,
          max_per_ip_7d: int = 10, max_per_day: int = 5) -> Verdict:
    """Run every rule that is not off; the strictest mode among those that fired decides."""
    fired: list[Finding] = []

    def check(rule: str, hit: bool, evidence: str) -> None:
        mode = modes.get(rule, "off")
        if mode != "off" and hit:
            fired.append(Finding(rule, mode, evidence))

    same = []
    if referrer.customer_id and referrer.customer_id == friend.customer_id:
        same.append("the same customer account")
    for label, a, b in (("email", referrer.emails, friend.emails), ("phone", referrer.phones, friend.phones),
                        ("address", referrer.addresses, friend.addresses),
                        ("payment method", referrer.payments, friend.payments)):
        if a & b:
            same.append(f"the same {label}")
    check("self_referral", bool(same), "friend and referrer share " + ", ".join(same) if same else "")
    shared = [label for label, a, b in (("IP address", referrer.ips, friend.ips),
                                        ("device", referrer.devices, friend.devices)) if a & b]
    check("same_device_or_ip", bool(shared), "friend used the referrer's " + " and ".join(shared) if shared else "")
    check("ip_velocity", ctx.referrals_from_ip_7d > max_per_ip_7d,
          f"{ctx.referrals_from_ip_7d} referrals from this IP address in 7 days (limit {max_per_ip_7d})")
    check("daily_velocity", ctx.referrer_referrals_today > max_per_day,
          f"{ctx.referrer_referrals_today} referrals by this referrer today (limit {max_per_day})")
    check("not_new_customer", ctx.prior_orders > 0,
          f"the friend had {ctx.prior_orders} order(s) before: not a new customer")
    check("order_reversed", ctx.order_reversed, ORDER_REVERSED)
    return strictest(fired)


ORDER_REVERSED = "the friend's order was cancelled or refunded"


def strictest(fired: list[Finding]) -> Verdict:
    """The verdict of the rules that fired: the strictest mode among them decides."""
    for outcome in ("block", "hold"):
        if any(f.mode == outcome for f in fired):
            return Verdict(outcome, tuple(fired))
    return Verdict("ok", tuple(fired))


def rejudge(modes: dict[str, str], hits: dict[str, str]) -> Verdict:
    """Rules known to have fired on a past referral (rule -> evidence) judged again under other
    `modes` (the program simulator: what a draft's fraud rules would have said)."""
    return strictest([Finding(rule, modes.get(rule, "off"), evidence) for rule, evidence in hits.items()
                      if modes.get(rule, "off") != "off"])
