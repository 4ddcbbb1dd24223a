"""Telling people: shopper emails and signed webhooks to the merchant's other tools. No
transport here: emails go through the `Mailer` port and webhooks through the `WebhookPoster`
port (domain.ports); the SMTP and HTTP adapters are in plugin_app.adapters, picked by the runtime.

The `events` table is the outbox: every event is written in the same transaction as the change
that caused it (a tier change, an expiry reminder, a ledger posting the shop subscribed to…).
`relay` fans each new event out, once, into `notifications` rows (one email, one delivery per
subscribed endpoint; a unique key per event and target); `send` delivers due rows under a lease,
retrying with exponential backoff, and marks each sent in its own transaction. A crash between
the mailer's or poster's call and that mark can repeat a delivery after the lease: emails carry a
Message-ID made from the row's id and webhooks an event id, so receivers can drop the repeat.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from datetime import datetime, timedelta

from .. import i18n
from ..domain import notifications as N
from ..domain.member_events import CashbackAvailable, PointsChanged, PointsPosted, RewardUnlocked
from ..domain.errors import InvalidRequest, NotFound, PlatformError
from ..domain.targeting import in_segments
from ..domain.ports import Clock, MailConnection, Mailer, OutgoingEmail, SystemClock, WebhookPoster
from ..storage.db import Database
from . import emails

# event type -> webhook topic
TOPICS = {"member_enrolled": "member.enrolled", "points_changed": "points.changed", "tier_changed": "tier.changed",
          "reward_redeemed": "reward.redeemed", "referral_rewarded": "referral.completed",
          "points_expiring": "points.expiring",
          # segments (issue 20): a member entered or left a merchant's segment; their lifecycle state moved
          "segment_entered": "segment.entered", "segment_left": "segment.left",
          "lifecycle_changed": "member.lifecycle_changed",
          # badges and challenges (issue 20): each earning and each completion is told once
          "badge_earned": "badge.earned", "challenge_completed": "challenge.completed"}
WEBHOOK_TOPICS = tuple(sorted(TOPICS.values()))

# What each topic's `data` holds besides `member` (the member's reference: id, customer_id,
# email, tier, points, credit), as JSON Schema properties: the OpenAPI document's `webhooks`.
_TEXT, _INT = {"type": "string"}, {"type": "integer"}
_SEGMENT = {"segment_id": _INT, "segment": {"type": "string", "description": "the segment's name"}}
TOPIC_DATA: dict[str, dict] = {
    "member.enrolled": {"customer_id": _TEXT},
    "points.changed": {"entry_id": _INT, "kind": _TEXT, "available_change": _INT, "pending_change": _INT,
                       "held_change": _INT, "balance": _INT, "pending": _INT},
    "tier.changed": {"from": {"type": ["string", "null"]}, "to": _TEXT, "direction": _TEXT, "reason": _TEXT,
                     "value": _TEXT, "cause": _TEXT, "program_version": _INT},
    "reward.redeemed": {"redemption_id": _INT, "reward_id": _TEXT, "code": _TEXT,
                        "order_id": {"type": ["string", "null"]}, "asset": _TEXT, "amount": _TEXT},
    "referral.completed": {"kind": _TEXT, "points": _INT, "amount": _TEXT, "code": _TEXT},
    "points.expiring": {"asset": _TEXT, "amount": _TEXT, "days": _INT, "expires_at": _TEXT},
    "segment.entered": _SEGMENT, "segment.left": _SEGMENT,
    "member.lifecycle_changed": {"from": {"type": ["string", "null"]}, "to": _TEXT},
    "badge.earned": {"badge_id": _TEXT, "name": {"type": "string", "description": "the badge's name when earned"},
                     "times": {"type": "integer", "description": "the how-manyth time the member earned it (1 "
                                                                 "unless the badge is repeatable)"},
                     "points": {"type": "integer", "description": "points the badge paid (0: none)"}},
    "challenge.completed": {"challenge_id": _TEXT,
                            "name": {"type": "string", "description": "the challenge's name when settled"},
                            "points": {"type": "integer", "description": "points the challenge paid"}},
}
MAX_ATTEMPTS = 10
LEASE = timedelta(seconds=60)
WEBHOOK_TIMEOUT = 10.0  # seconds a merchant's endpoint has to answer


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … up to 1 h between tries."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def email_kind(event_type: str, payload: dict) -> str | None:
    if event_type == "member_enrolled" and payload.get("welcome") is False:
        return None  # enrolled by the merchant (API, import): not a sign-up, so no welcome e-mail
    if event_type == "tier_changed":
        if payload.get("from") is None:
            return None  # the entry tier, given on joining: the welcome email says hello
        return "tier_reached" if payload.get("direction") == "up" else "tier_lost"
    return {"member_enrolled": "welcome", "points_earned": "points_earned", "reward_unlocked": "reward_unlocked",
            "cashback_available": "cashback_available", "points_expiring": "points_expiring",
            "referral_rewarded": "referral_rewarded", "birthday_reward": "birthday_reward"}.get(event_type)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """X-Loyalty-Signature: sha256=hex(HMAC-SHA256(secret, "<timestamp>." + body))."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class Notifier:
    def __init__(self, db: Database, programs, shops, mailer: Mailer, poster: WebhookPoster, app_url: str,
                 secret_key: str, clock: Clock | None = None) -> None:
        self.db, self.programs, self.shops = db, programs, shops
        self.mailer, self.poster = mailer, poster
        self.app_url, self.secret_key = app_url.rstrip("/"), secret_key
        self.clock = clock or SystemClock()
        self._subs: dict[int, tuple[float, set[str]]] = {}
        self.flow = None  # services.flow.FlowTriggers: Shopify Flow triggers, a delivery target "flow"

    # -- the handler of postings (services.handlers): events written in their transaction --
    def subscribed(self, uow) -> set[str]:
        """Topics any of the unit of work's shop's active endpoints want (cached 10 s per process)."""
        shop_id = uow.shop_id
        hit = self._subs.get(shop_id)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        rows = uow.webhook_endpoints.active_topics()
        topics = set().union(*map(set, rows)) if rows else set()
        self._subs[shop_id] = (time.monotonic() + 10, topics)
        return topics

    def after_posting(self, uow, e: PointsPosted) -> None:
        """The handler of every posting (registered in services.handlers): cashback ready, a
        reward newly within reach, and `points.changed` for shops whose endpoints want it.
        Nothing for an import's postings: switching apps is not news to the shopper."""
        if e.source == "import":
            return
        if e.asset == "credit" and e.available > 0 and e.kind in ("earn", "vest"):
            uow.collect(CashbackAvailable(shop_id=e.shop_id, member_id=e.member_id, at=e.at,
                                          entry_id=e.entry_id, amount=e.available))
        if e.asset == "points" and e.available > 0 and e.kind in ("earn", "vest", "adjust"):
            program = self.programs.current(e.shop_id).program
            mine = None  # the member's segments, read only if a reward is for some (issue 20)
            for reward in sorted((r for r in program.rewards if r.enabled and r.type != "variable_amount"),
                                 key=lambda r: r.points_cost):
                if reward.segments:
                    mine = uow.targeting.member_segments(e.member_id) if mine is None else mine
                    if not in_segments(reward.segments, mine):
                        continue  # not theirs to get: no "you can now get" for it
                if e.balance - int(e.available) < reward.points_cost <= e.balance:
                    uow.collect(RewardUnlocked(shop_id=e.shop_id, member_id=e.member_id, at=e.at,
                                               entry_id=e.entry_id, reward_id=reward.id, reward=reward.name,
                                               points_cost=reward.points_cost, balance=e.balance))
                    break
        if e.asset == "points" and "points.changed" in self.subscribed(uow):
            uow.collect(PointsChanged(shop_id=e.shop_id, member_id=e.member_id, at=e.at, entry_id=e.entry_id,
                                      kind=e.kind, available_change=int(e.available),
                                      pending_change=int(e.pending), held_change=int(e.held),
                                      balance=e.balance, pending=e.balance_pending))

    # -- fan-out ---------------------------------------------------------------------------
    def relay(self, limit: int = 500) -> int:
        """Turn new events into deliveries, once each; returns how many deliveries were made."""
        return self.relay_some(limit)[0]

    def relay_some(self, limit: int) -> tuple[int, bool]:
        """`relay` of at most `limit` events: (deliveries made, whether the slice was full — more
        may be waiting). One transaction: the events of every shop are taken locked, skipping
        those another worker holds (workers share the relay); each is fanned out and marked
        relayed through its own shop's repositories (a unit of work for its shop that joins the
        transaction, with no savepoint of its own)."""
        now = self.clock.now()
        made = seen = 0
        relayed: dict[int, list[int]] = {}
        with self.db.uow() as uow:
            # What every event of a shop looks up (its row, its endpoints, Flow's word on each
            # trigger; a member and their balance, which an order's three or four events share)
            # is read once in this transaction (`UnitOfWork.once`), and the events
            # are marked relayed with one statement per shop at the end: they stay locked by this
            # transaction until it commits.
            for ev in uow.jobs.unrelayed_events(limit):
                seen += 1
                with self.db.uow(ev.shop_id, savepoint=False) as shop_uow:
                    made += self._fan_out(shop_uow, ev, now)
                relayed.setdefault(ev.shop_id, []).append(ev.id)
            for shop_id, ids in relayed.items():
                with self.db.uow(shop_id, savepoint=False) as shop_uow:
                    shop_uow.outbox.mark_relayed_many(ids, now)
        return made, seen >= limit

    def _fan_out(self, uow, ev, now: datetime) -> int:
        made = self.flow.fan_out(uow, ev, now) if self.flow is not None else 0
        topic = TOPICS.get(ev.type)
        if topic is not None:
            for ep in uow.once("endpoints", uow.webhook_endpoints.active):
                if topic not in ep.topics:
                    continue
                body = {"id": f"evt_{ev.id}", "topic": topic, "shop_id": ev.shop_id, "created_at": ev.created_at.isoformat(),
                        "data": {**ev.payload, "member": self._member_ref(uow, ev.member_id)}}
                made += uow.notifications.queue(ref=f"event:{ev.id}", target=f"ep:{ep.id}", topic=topic,
                                                member_id=ev.member_id, recipient=ep.url, payload=body,
                                                state="pending", now=now)
        kind = email_kind(ev.type, ev.payload)
        if kind is not None and ev.member_id is not None:
            program = self.programs.current(ev.shop_id).program
            setting = program.notifications.email(kind)
            member = uow.once(("member", ev.member_id), lambda: uow.members.by_id(ev.member_id))
            state = "pending"
            if not setting.enabled:
                return made
            if member is None or not member.email or member.email_opt_out:
                state = "skipped"  # redacted, no address, or unsubscribed: nothing is sent
            elif setting.segments and not in_segments(setting.segments, uow.targeting.member_segments(member.id)):
                state = "skipped"  # issue 20: this e-mail is only for members of some segments, now
            message = self.compose(uow, kind, member, ev.payload, program) if state == "pending" else {}
            made += uow.notifications.queue(ref=f"event:{ev.id}", target="email", topic=kind, member_id=ev.member_id,
                                            recipient=(member.email if member is not None and member.email else "-"),
                                            payload=message, state=state, now=now)
        return made

    @staticmethod
    def _member_ref(uow, member_id: int | None) -> dict | None:
        if member_id is None:
            return None
        m = uow.once(("member", member_id), lambda: uow.members.by_id(member_id))
        if m is None:
            return None
        b = uow.once(("balance", member_id), lambda: uow.members.balance(member_id))
        return {"id": m.id, "customer_id": m.platform_customer_id, "email": m.email, "tier": m.tier,
                "points": int(b.points) if b else 0, "credit": str(b.credit) if b else "0"}

    # -- composing -------------------------------------------------------------------------
    def unsubscribe_url(self, shop_id: int, member_id: int) -> str:
        return f"{self.app_url}/u/{self.unsubscribe_token(shop_id, member_id)}"

    def unsubscribe_token(self, shop_id: int, member_id: int) -> str:
        mac = hmac.new(self.secret_key.encode(), f"unsub:{shop_id}:{member_id}".encode(), hashlib.sha256).hexdigest()[:32]
        return f"{shop_id}.{member_id}.{mac}"

    def unsubscribe(self, token: str, *, confirm: bool) -> dict:
        """Check an unsubscribe link; with `confirm`, opt the member out (idempotent)."""
        try:
            shop_id, member_id, mac = token.split(".")
            shop_id_i, member_id_i = int(shop_id), int(member_id)
        except ValueError:
            raise NotFound("this link is not valid") from None
        if not hmac.compare_digest(self.unsubscribe_token(shop_id_i, member_id_i), token):
            raise NotFound("this link is not valid")
        with self.db.uow(shop_id_i) as uow:
            opted_out = uow.notifications.email_opt_out(member_id_i)
            if opted_out is None:
                raise NotFound("this link is not valid")
            if confirm:  # and nothing still queued goes out
                uow.notifications.unsubscribe(member_id_i)
        shop = self.shops.get(shop_id_i)
        return {"shop": shop.name if shop else "", "unsubscribed": confirm or opted_out}

    @staticmethod
    def language(member, program) -> str:
        """The language a member reads: their own, as the platform told us (members.locale),
        else the shop's (the widget's language)."""
        return i18n.locale_of(getattr(member, "locale", None), fallback=i18n.locale_of(program.widget.locale))

    @staticmethod
    def brand(shop, program) -> emails.Brand:
        """The shop's look in its emails: its name, storefront, the widget's colour, the logo."""
        return emails.Brand(name=((shop.name or shop.domain) if shop else "") or "",
                            url=f"https://{shop.domain}" if shop and shop.domain else "",
                            colour=program.widget.colour, logo_url=program.notifications.logo_url)

    def context(self, uow, shop, member, payload: dict, program, t: i18n.Translator | None = None) -> dict:
        """What an email's template may say, for `member` of the unit of work's shop (`shop`:
        its row), every value formatted for the reader `t` (money, numbers, dates in the shop's
        time zone)."""
        t = t or i18n.translator(self.language(member, program))
        shop_id = uow.shop_id
        bal = uow.once(("balance", member.id), lambda: uow.members.balance(member.id))
        name = (member.name or "").split(" ")[0] or (member.email or "").split("@")[0]
        currency = bal.currency if bal is not None else (shop.currency if shop else "")
        points_asset = payload.get("asset") == "points"
        amount = payload.get("amount")
        points = payload.get("points", amount if points_asset else None)
        expires = payload.get("expires_at")
        return {"name": name, "shop": (shop.name if shop else "") or (shop.domain if shop else ""),
                "points": t.number(points) if points not in (None, "") else "",
                "balance": t.number(int(bal.points) if bal is not None else 0),
                "amount": (t.money(amount, currency) if not points_asset else t.number(amount)) if amount else "",
                "reward": self._reward(t, payload, currency, program), "tier": _tier_label(program, payload.get("to") or member.tier or "", t.locale),
                "previous_tier": _tier_label(program, payload.get("from") or "", t.locale),
                "date": t.date(_local(expires, program.timezone)) if expires else "",
                "days": t.number(payload["days"]) if payload.get("days") is not None else "",
                "order": payload.get("order_id", ""),
                "unsubscribe_url": self.unsubscribe_url(shop_id, member.id)}

    @staticmethod
    def _reward(t: i18n.Translator, payload: dict, currency: str, program=None) -> str:
        """What the member can get or got, in their language: a reward's name (the program's name
        for that language when the reward still exists, else the name it had), or a referral's
        points, store credit or discount code."""
        if payload.get("reward") is not None:
            reward = next((r for r in program.rewards if r.id == payload.get("reward_id")), None) if program else None
            return reward.name_for(t.locale) if reward is not None else str(payload["reward"])
        kind = payload.get("kind")
        if kind == "points" and payload.get("points") is not None:
            n = int(payload["points"])
            return t.ngettext("%(points)s point", "%(points)s points", n, points=t.number(n))
        if kind == "credit" and payload.get("amount"):
            return t.gettext("%(amount)s of store credit", amount=t.money(payload["amount"], currency))
        if kind == "code" and payload.get("amount"):
            return t.gettext("a %(amount)s discount code: %(code)s", amount=t.money(payload["amount"], currency),
                             code=payload.get("code") or "")
        return ""

    def compose(self, uow, kind: str, member, payload: dict, program) -> dict:
        """The email `kind` for `member` of the unit of work's shop, in the member's language
        (else the shop's): subject, plain text and HTML."""
        shop_id = uow.shop_id
        lang = self.language(member, program)
        shop = uow.once("shop", uow.notifications.shop)
        context = self.context(uow, shop, member, payload, program, i18n.translator(lang))
        made = emails.render(kind, lang, program.notifications.email(kind), context, self.brand(shop, program))
        return {"subject": made["subject"], "body": made["text"], "html": made["html"], "lang": lang,
                "from_name": program.notifications.sender_name or (shop.name if shop else ""),
                "reply_to": program.notifications.reply_to or None,
                "unsubscribe_url": self.unsubscribe_url(shop_id, member.id)}

    def sample(self, shop, program, lang: str) -> dict:
        """A sample member's values, formatted for `lang` (previews and test sends)."""
        t = i18n.translator(lang)
        currency = shop.currency if shop else "EUR"
        return {"name": "Ada", "shop": (shop.name or shop.domain) if shop else "", "points": t.number(120),
                "balance": t.number(570), "reward": t.gettext("%(amount)s off your order", amount=t.money("5", currency)),
                "amount": t.money("6.00", currency), "tier": _tier_label(program, "Silver", lang), "previous_tier": _tier_label(program, "Gold", lang),
                "date": t.date(_local(self.clock.now() + timedelta(days=7), program.timezone)),
                "days": t.number(7), "order": "#1001", "unsubscribe_url": f"{self.app_url}/u/preview"}

    def preview(self, shop_id: int, kind: str, lang: str, document_program=None) -> dict:
        """What `kind` would look like in `lang` for a sample member (the admin's preview):
        {"kind", "lang", "enabled", "subject", "body" (the plain text), "html"}."""
        if kind not in N.KINDS:
            raise InvalidRequest(f"unknown email {kind!r}; one of {', '.join(N.KINDS)}")
        lang = i18n.locale_of(lang)
        program = document_program or self.programs.current(shop_id).program
        setting = program.notifications.email(kind)
        shop = self.shops.get(shop_id)
        made = emails.render(kind, lang, setting, self.sample(shop, program, lang), self.brand(shop, program))
        return {"kind": kind, "lang": lang, "enabled": setting.enabled, "subject": made["subject"],
                "body": made["text"], "html": made["html"]}

    def send_test(self, shop_id: int, kind: str, lang: str, to: str, document_program=None) -> str:
        """Send the preview of `kind` in `lang` to `to`, now, through the configured mailer
        (not queued, not logged as a shopper's email). Raises InvalidRequest with a message for
        the merchant when there is no relay or it refuses."""
        to = (to or "").strip()
        if not re.fullmatch(r"[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+", to) or len(to) > 320:
            raise InvalidRequest("enter an e-mail address like name@example.com")
        if not self.mailer.configured:
            raise InvalidRequest("no mail relay is configured: set SMTP_HOST (and SMTP_USER, SMTP_PASSWORD) "
                                 "for this deployment, then send the test again")
        program = document_program or self.programs.current(shop_id).program
        shown = self.preview(shop_id, kind, lang, program)
        shop = self.shops.get(shop_id)
        t = i18n.translator(shown["lang"])
        email = OutgoingEmail(to=to, subject=t.gettext("[Test] %(subject)s", subject=shown["subject"])[:200],
                              body=shown["body"], html=shown["html"],
                              message_key=f"test-{shop_id}-{kind}-{int(self.clock.now().timestamp() * 1000)}",
                              unsubscribe_url=f"{self.app_url}/u/preview", lang=shown["lang"],
                              from_name=program.notifications.sender_name or (shop.name if shop else ""),
                              reply_to=program.notifications.reply_to or None)
        try:
            mail = self.mailer.open()
            try:
                mail.send(email)
            finally:
                mail.close()
        except PlatformError as exc:
            raise InvalidRequest(f"the mail relay did not take the test e-mail: {exc}") from None
        return to

    # -- delivery --------------------------------------------------------------------------
    def _claim(self, limit: int) -> list:
        """Lease what is due in every shop (workers share: locked rows are skipped). With no
        mail relay configured, emails wait (webhooks still go)."""
        now = self.clock.now()
        with self.db.uow() as uow:
            return uow.jobs.lease_due_notifications(now, now + LEASE, limit, emails=bool(self.mailer.configured))

    def _done(self, r, error: str | None) -> None:
        """Record how the leased delivery `r` went, in its shop's unit of work: sent, retried
        after a backoff, or failed for good after MAX_ATTEMPTS tries."""
        now = self.clock.now()
        attempts = r.attempts + 1  # the lease counted this try
        with self.db.uow(r.shop_id) as uow:
            if error is None:
                uow.notifications.mark_sent(r.id, now)
            elif attempts >= MAX_ATTEMPTS:
                uow.notifications.mark_failed(r.id, error[:1000])
            else:
                uow.notifications.retry_at(r.id, error[:1000], now + backoff(attempts))

    def send(self, limit: int = 100) -> int:
        """Deliver what is due; returns how many went out."""
        return self.send_some(limit)[0]

    def send_some(self, limit: int) -> tuple[int, bool]:
        """`send` of at most `limit` due deliveries: (how many went out, whether the slice was
        full — more may be due)."""
        rows = self._claim(limit)
        sent = 0
        mail: MailConnection | None = None  # one connection for the batch's emails
        try:
            for r in rows:
                try:
                    if r.target == "email":
                        if mail is None:
                            mail = self.mailer.open()
                        mail.send(self._email(r))
                    elif r.target == "flow":
                        if self.flow is None:
                            raise RuntimeError("Shopify Flow triggers are not set up in this process")
                        self.flow.deliver(r)
                    else:
                        self._post(r)
                except Exception as exc:  # noqa: BLE001 - any failure is retried, with its reason kept
                    if r.target == "email" and mail is not None:
                        mail.close()  # the next email opens a fresh connection
                        mail = None
                    self._done(r, _reason(exc))
                    continue
                self._done(r, None)
                sent += 1
        finally:
            if mail is not None:
                mail.close()
        return sent, len(rows) >= limit

    @staticmethod
    def _email(r) -> OutgoingEmail:
        p = r.payload
        return OutgoingEmail(to=r.recipient, subject=p["subject"], body=p["body"], html=p.get("html") or None,
                             message_key=f"notification-{r.id}",  # stable: a repeat is recognisable
                             unsubscribe_url=p["unsubscribe_url"], lang=p.get("lang", "en"),
                             from_name=p.get("from_name") or "", reply_to=p.get("reply_to") or None)

    def _post(self, r) -> None:
        ep = self._endpoint(r.shop_id, int(r.target.removeprefix("ep:")))
        if ep is None or not ep["active"]:
            raise RuntimeError("endpoint removed or disabled")
        body = json.dumps(r.payload, separators=(",", ":"), sort_keys=True).encode()
        ts = str(int(self.clock.now().timestamp()))
        status = self.poster.post(ep["url"], body, {
            "Content-Type": "application/json", "User-Agent": "loyalty-webhooks/1",
            "X-Loyalty-Event-Id": r.payload["id"], "X-Loyalty-Topic": r.topic, "X-Loyalty-Timestamp": ts,
            "X-Loyalty-Delivery": str(r.id), "X-Loyalty-Signature": sign(ep["secret"], ts, body)},
            timeout=WEBHOOK_TIMEOUT)
        if not 200 <= status < 300:
            raise RuntimeError(f"HTTP {status}")

    # -- endpoints (admin) ------------------------------------------------------------------
    def _endpoint(self, shop_id: int, endpoint_id: int) -> dict | None:
        with self.db.uow(shop_id) as uow:
            ep = uow.webhook_endpoints.by_id(endpoint_id)
        if ep is None:
            return None
        return {"id": ep.id, "url": ep.url, "topics": ep.topics, "active": ep.active,
                "secret": self.shops.box.decrypt(ep.secret), "created_at": ep.created_at.isoformat()}

    def add_endpoint(self, shop_id: int, url: str, topics: list[str], secret: str) -> dict:
        unknown = sorted(set(topics) - set(WEBHOOK_TOPICS))
        if unknown or not topics:
            raise InvalidRequest(f"topics must be some of {', '.join(WEBHOOK_TOPICS)}", unknown=unknown)
        with self.db.uow(shop_id) as uow:
            endpoint_id = uow.webhook_endpoints.add(url=url, secret=self.shops.box.encrypt(secret),
                                                    topics=sorted(set(topics)), now=self.clock.now())
        self._subs.pop(shop_id, None)
        return self._endpoint(shop_id, endpoint_id)

    def endpoints(self, shop_id: int) -> list[dict]:
        with self.db.uow(shop_id) as uow:
            ids = uow.webhook_endpoints.ids()
        return [{k: v for k, v in self._endpoint(shop_id, i).items() if k != "secret"} for i in ids]

    def remove_endpoint(self, shop_id: int, endpoint_id: int) -> None:
        with self.db.uow(shop_id) as uow:
            done = uow.webhook_endpoints.deactivate(endpoint_id)
        if not done:
            raise NotFound("no such endpoint")
        self._subs.pop(shop_id, None)

    def log(self, shop_id: int, *, target: str | None = None, limit: int = 100) -> list[dict]:
        with self.db.uow(shop_id) as uow:
            rows = uow.notifications.log(target, limit)
        return [{"id": r.id, "channel": "email" if r.target == "email" else "webhook", "topic": r.topic,
                 "recipient": r.recipient, "state": r.state, "attempts": r.attempts,
                 "event_id": r.payload.get("id") if r.target != "email" else None,
                 "subject": r.payload.get("subject") if r.target == "email" else None,
                 "last_error": r.last_error, "created_at": r.created_at.isoformat(),
                 "sent_at": r.sent_at and r.sent_at.isoformat()} for r in rows]

    def replay(self, shop_id: int, notification_id: int) -> str:
        """Send a delivery again (failed, or sent and lost on the other side): same event id."""
        with self.db.uow(shop_id) as uow:
            done = uow.notifications.replay(notification_id, self.clock.now())
        if not done:
            raise NotFound("no such delivery to replay (it may still be on its way)")
        return "pending"


def _local(value, timezone: str):
    """An instant (a datetime or its ISO text) as the day it is in the shop's time zone."""
    from zoneinfo import ZoneInfo

    when = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    if when.tzinfo is None:
        return when.date()
    return when.astimezone(ZoneInfo(timezone or "UTC")).date()


def _reason(exc: Exception) -> str:
    """What the delivery log keeps. An adapter's PlatformError already names the transport's own
    error ("ConnectionRefusedError: …"); anything else is named by its type."""
    if isinstance(exc, PlatformError) and str(exc):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _tier_label(program, name: str, locale: str | None) -> str:
    """A tier (by its identity, the default name) as the reader's language names it; a tier the
    program no longer has keeps the name it had."""
    tier = program.tiers.by_name(name) if program is not None and name else None
    return tier.name_for(locale) if tier is not None else name
