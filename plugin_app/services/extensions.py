"""What Shopify's extension surfaces show, for a shop and a customer the caller has verified
(the http layer checks Shopify's session token; nothing here trusts a request body for who):

- customer accounts: the profile block and the "Rewards" page (`summary`), a redemption outside
  a cart (`redeem`), the order-status block (`order_status`);
- checkout: the thank-you block (`thank_you`), which may come before the order's webhook;
- POS: the customer-details block (`pos_customer`) and the counter's redemption (`redeem`).

Texts are rendered in the shopper's language (`locale`, else the shop's) from the catalogue.
A redemption outside a cart reuses the cart's redemption flow (a ledger hold, then a one-use
code for this customer); the paid order that carries the code commits the hold, online or in
store, through the same webhook path."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from ..domain.earning import Order, OrderLine
from ..domain.errors import InvalidRequest, NotFound
from ..domain.ledger import Kind
from ..domain.money import Money
from ..storage.db import Database
from ..domain.rewards import RewardUnavailable
from .cart import Cart, CartLine, CartService
from .explain import render, tier_label_map, tier_labels
from .program import Programs
from .widget import WidgetService
from .widget_texts import Texts, shopper_locale

AMOUNT_REWARDS = ("fixed_amount", "variable_amount")


def cart_free(reward) -> bool:
    """Whether a reward's price does not depend on a cart: no minimum cart, and for money off,
    no cap on the cart's share (such a reward is only taken in the cart, where both are known)."""
    if reward.minimum_cart > 0:
        return False
    return not (reward.type in AMOUNT_REWARDS and reward.max_cart_share < 100)


def order_id_of(value: str) -> str | None:
    """Shopify's numeric order id from what an extension has: '450789469', or a gid
    ('gid://shopify/Order/450789469'; the thank-you page's 'gid://shopify/OrderIdentity/…' names
    the same order once it exists). Anything else names no order: None."""
    text = str(value or "").strip()
    if text.startswith("gid://shopify/"):
        kind, _, tail = text[len("gid://shopify/"):].partition("/")
        if kind not in ("Order", "OrderIdentity"):
            return None
        text = tail.split("?")[0]
    return text if text.isdigit() and 0 < len(text) <= 20 else None


class ExtensionViews:
    def __init__(self, db: Database, programs: Programs, widget: WidgetService, cart: CartService,
                 orders, members, clock) -> None:
        self.db, self.programs, self.widget, self.cart = db, programs, widget, cart
        self.orders, self.members, self.clock = orders, members, clock

    def _texts(self, shop_id: int, locale: str | None):
        program = self.programs.for_reading(shop_id).program
        lang = shopper_locale(program, locale)
        return program, lang, Texts(lang, program.widget.texts)

    # -- customer accounts: profile block and Rewards page ---------------------------------
    def summary(self, shop, customer_id: str, locale: str | None = None) -> dict:
        data = self.widget.summary(shop, customer_id, locale)
        view, m = data["program"], data["member"]
        program, lang, T = self._texts(shop.id, locale)
        t = T.t
        cur = shop.currency
        points = m["points"] if m else 0
        rewards = []
        for r, shown in zip([r for r in program.rewards if r.enabled], view["rewards"]):
            status = (m or {}).get("rewards", {}).get(r.id)
            affordable = bool(m) and status == T("can_afford")
            here = cart_free(r)
            rewards.append({"id": r.id, "name": shown["name"], "cost": r.points_cost, "cost_text": shown["cost_text"],
                            "value_text": shown["value_text"], "available": affordable and here,
                            "reason_text": None if affordable and here else
                            (t.gettext("Use this reward in your cart at checkout") if affordable else
                             status or t.gettext("Join the rewards program to use rewards"))})
        credit = Money.of(Decimal(m["store_credit"]["amount"]) if m else Decimal(0), cur)
        tier = m["tier"] if m else None
        return {
            "member": m is not None, "locale": lang,
            "points": points, "points_text": t.number(points),
            "pending_points": m["pending_points"] if m else 0, "pending_text": (m or {}).get("pending_text"),
            "tier": {"name": tier["label"], "id": tier["name"], "text": tier["text"], "progress_text": tier["next_text"],
                     "percent": tier["percent"]} if tier else None,
            "store_credit": {**credit.to_json(), "text": t.money(credit.amount, cur)},
            "expiring_text": ((m or {}).get("expiring") or {}).get("text"),
            "rewards": rewards,
            "referral": {"link": m["referral"]["link"], "code": m["referral"]["code"]} if m and m["referral"] else None,
            "activity": [{"when_text": a["date_text"], "text": a["text"], "points_text": a["amount_text"]}
                         for a in (m["activity"] if m else [])],
            "birthday": {"set": bool(m and m["birthday"]),
                         "text": (m or {}).get("birthday_text") or next(
                             (w.get("ask_text") for w in view["ways_to_earn"] if w["kind"] == "birthday"), None)},
            "ways_to_earn": [{"kind": w["kind"], "text": w["text"]} for w in view["ways_to_earn"]],
            # badges and challenges (issue 20) as the panel has them: progress in the shopper's words
            "badges": [{"id": b["id"], "name": b["name"], "earned": b["earned"], "text": b["text"],
                        "percent": _percent(b["progress"]), "points_text": b.get("points_text")}
                       for b in (m or {}).get("badges", [])],
            "challenges": [{"id": c["id"], "name": c["name"], "joined": c["joined"], "enrollment": c["enrollment"],
                            "text": c["text"], "percent": _percent(c["progress"]), "ends_text": c["ends_text"],
                            "points_text": c.get("points_text")}
                           for c in (m or {}).get("challenges", [])],
        }

    # -- a redemption outside a cart (customer account page, POS counter) -----------------------
    def redeem(self, shop, customer_id: str, reward_id: str, key: str, *, steps: int | None = None,
               locale: str | None = None, must_be_member: bool = False) -> dict:
        """Hold the points and make a one-use code for this customer, through the cart's flow;
        the same key answers the same. A reward whose price depends on the cart is refused: it
        is taken in the cart, where the cart is known."""
        program, lang, T = self._texts(shop.id, locale)
        t = T.t
        reward = program.reward(reward_id)
        if reward is None or not reward.enabled:
            raise NotFound(f"no reward {reward_id!r}")
        if not cart_free(reward):
            raise InvalidRequest("this reward depends on the cart; use it in the cart at checkout", field="reward_id")
        if steps is not None and reward.type != "variable_amount":
            raise InvalidRequest("steps are for rewards of a variable amount", field="steps")
        if must_be_member:
            self.members.by_customer(shop.id, customer_id)  # NotFound: not a member of this shop
        n = steps or 1
        value = (reward.amount or Decimal(0)) * n if reward.type in AMOUNT_REWARDS else Decimal(0)
        # The code's worth is the reward's own: a notional cart exactly that large (nothing is
        # capped by it; a percentage or free shipping applies to whatever the order is).
        cart = Cart(shop.currency, (CartLine("reward", 1, max(value, Decimal("0.01"))),))
        try:
            answer = self.cart.apply(shop.id, shop.currency, customer_id, key, cart=cart, reward_id=reward_id,
                                     steps=steps if reward.type == "variable_amount" else None)
        except RewardUnavailable as why:  # not for this member, or not yet: said in their language
            with tier_labels(tier_label_map(program, lang)):
                text = render(why.why, t)
            raise InvalidRequest(text, field="reward_id", reason=why.why.code) from None
        expires = datetime.fromisoformat(answer["expires_at"])
        v = answer["value"]
        value_text = (t.money(Decimal(v["amount"]), shop.currency) if v.get("amount") else
                      T("percent_off", percent=t.rate(Decimal(v["percent"]))) if v.get("percent") else
                      T("free_shipping") if v.get("free_shipping") else T("free_product"))
        return {"redemption_id": answer["redemption_id"], "code": answer["code"], "title": reward.name_for(lang),
                "value_text": value_text, "points": int(Decimal(answer["amount"])), "expires_at": answer["expires_at"],
                "expires_at_text": t.gettext("Use this code by %(time)s",
                                             time=t.datetime(expires, ZoneInfo(program.timezone)))}

    # -- orders: the order-status and thank-you blocks --------------------------------------
    def _order(self, shop_id: int, order_id: str):
        """(the order's row, its points earnings, what was taken back of them) or None."""
        with self.db.uow(shop_id) as uow:
            row = uow.orders.find(order_id)
            if row is None:
                return None
            earns = [e for e in uow.ledger.entries_by_ref(f"order:{order_id}")
                     if e.kind == Kind.EARN.value and e.asset == "points"]
            back = sum((uow.ledger.reversed_so_far(e.id) for e in earns), Decimal(0))
            lots = [uow.ledger.lot_of_entry(e.id) for e in earns]
        return row, earns, int(back), [x for x in lots if x is not None]

    @staticmethod
    def _owned_by(row, customer_id: str | None, member_id: int | None) -> bool:
        if not customer_id:
            return False
        return (member_id is not None and row.member_id == member_id) or row.customer_key == f"c:{customer_id}"

    def _member_id(self, shop_id: int, customer_id: str | None) -> int | None:
        if not customer_id:
            return None
        try:
            return self.members.by_customer(shop_id, customer_id)[0].id
        except NotFound:
            return None

    def _state(self, shop, found, T, program) -> dict:
        t = T.t
        row, earns, back, lots = found
        earned = sum((int(e.points) + int(e.points_pending) for e in earns), 0)
        net = max(earned - back, 0)
        tz = ZoneInfo(program.timezone)
        cashback = Money.of(Decimal(row.credit or 0), shop.currency)
        base = {"order_id": row.platform_order_id, "earned": earned, "cashback": cashback.to_json()}
        if back > 0:
            why = ("cancelled" if row.cancelled else "refunded" if (row.refunds or {}).get("applied") else "changed")
            n, num = back, t.number(back)
            text = {"cancelled": t.ngettext("%(num)s point was taken back because the order was cancelled.",
                                            "%(num)s points were taken back because the order was cancelled.",
                                            n, num=num),
                    "refunded": t.ngettext("%(num)s point was taken back because the order was refunded.",
                                           "%(num)s points were taken back because the order was refunded.",
                                           n, num=num),
                    "changed": t.ngettext("%(num)s point was taken back because the order was changed.",
                                          "%(num)s points were taken back because the order was changed.",
                                          n, num=num)}[why]
            if net:
                text = t.ngettext("This order keeps %(num)s point.", "This order keeps %(num)s points.", net,
                                  num=t.number(net)) + " " + text
            return {**base, "points": net, "state": "reversed", "reason": why, "text": text}
        if earned > 0:
            waiting = [x for x in lots if x.pending and x.available_at is not None]
            if waiting:
                until = max(x.available_at for x in waiting)
                text = t.ngettext("This order earned %(num)s point, yours to use from %(date)s.",
                                  "This order earned %(num)s points, yours to use from %(date)s.", earned,
                                  num=t.number(earned), date=t.date(until.astimezone(tz), "long"))
                return {**base, "points": earned, "state": "pending", "available_at": until.isoformat(), "text": text}
            text = t.ngettext("This order earned %(num)s point.", "This order earned %(num)s points.", earned,
                              num=t.number(earned))
            return {**base, "points": earned, "state": "earned", "text": text}
        if row.cancelled:
            return {**base, "points": 0, "state": "none", "text": t.gettext("This order was cancelled: it earns no points.")}
        if row.earned:
            return {**base, "points": 0, "state": "none", "text": t.gettext("This order earned no points.")}
        if program.earning.trigger == "fulfilled":
            return {**base, "points": 0, "state": "pending",
                    "text": t.gettext("This order earns its points once it is fulfilled.")}
        return {**base, "points": 0, "state": "pending",
                "text": t.gettext("Your points for this order will show here once it is processed.")}

    def order_status(self, shop, customer_id: str, order_id: str, locale: str | None = None) -> dict:
        """The order-status block; NotFound unless the order is this customer's."""
        oid = order_id_of(order_id)
        found = self._order(shop.id, oid) if oid else None
        if found is None or not self._owned_by(found[0], customer_id, self._member_id(shop.id, customer_id)):
            raise NotFound("no such order for this customer")
        program, lang, T = self._texts(shop.id, locale)
        return {"locale": lang, **self._state(shop, found, T, program)}

    def thank_you(self, shop, customer_id: str | None, order_id: str, locale: str | None = None,
                  subtotal: Decimal | None = None, currency: str | None = None) -> dict:
        """The thank-you block. The order's webhook may not have come yet: then what an order
        of `subtotal` (the checkout's figure, for an estimate only; nothing is posted from it)
        earns, or 'pending'. A guest is told how to earn next time: by creating an account."""
        oid = order_id_of(order_id)
        if oid is None:
            raise NotFound("no such order")
        program, lang, T = self._texts(shop.id, locale)
        t = T.t
        found = self._order(shop.id, oid)
        if found is not None and found[0].customer_key and found[0].customer_key.startswith("c:") and \
                found[0].customer_key != f"c:{customer_id}" and customer_id is not None:
            raise NotFound("no such order for this customer")  # another customer's order
        estimate = None
        if subtotal is not None and currency == shop.currency and subtotal > 0:
            order = Order(f"estimate:{oid}", shop.currency, self.clock.now(),
                          (OrderLine("checkout", 1, subtotal),), customer_id)
            estimate = self.orders.preview(shop.id, order, customer_id).points
        out = {"locale": lang, "order_id": oid, "guest": customer_id is None}
        if customer_id is not None and found is not None and (found[0].earned or found[0].cancelled):
            out.update(self._state(shop, found, T, program))
        elif customer_id is not None:
            text = (t.ngettext("This order will earn %(num)s point.", "This order will earn %(num)s points.",
                               estimate, num=t.number(estimate)) if estimate else
                    t.gettext("Your points for this order will show here once it is processed."))
            out.update(points=estimate or 0, state="pending", estimated=estimate is not None, text=text)
        else:
            out.update(points=0, state="none", text=t.gettext("Orders placed as a guest earn no points."))
        if customer_id is None:
            text = (t.ngettext("Create an account and an order like this one earns %(num)s point.",
                               "Create an account and an order like this one earns %(num)s points.",
                               estimate, num=t.number(estimate)) if estimate else
                    t.gettext("Create an account to earn points on your next orders."))
            domain = shop.domain if "://" in shop.domain else f"https://{shop.domain}"
            out["claim"] = {"text": text, "signup_url": f"{domain}/account", "estimate": estimate}
        return out

    # -- POS: the customer-details block -----------------------------------------------------
    def pos_customer(self, shop, customer_id: str, locale: str | None = None) -> dict:
        data = self.widget.summary(shop, customer_id, locale)
        m = data["member"]
        if m is None:
            raise NotFound("this customer is not a member of the rewards program")
        program, lang, T = self._texts(shop.id, locale)
        t = T.t
        credit = Money.of(Decimal(m["store_credit"]["amount"]), shop.currency)
        tier = m["tier"]
        return {"locale": lang, "customer_id": customer_id, "points": m["points"], "points_text": t.number(m["points"]),
                "pending_points": m["pending_points"],
                "tier": {"name": tier["label"], "id": tier["name"], "text": tier["text"],
                         "progress_text": tier["next_text"]} if tier else None,
                "store_credit": {**credit.to_json(), "text": t.money(credit.amount, shop.currency)},
                "rewards": [self._pos_reward(r, lang, m["rewards"].get(r.id), T) for r in program.rewards if r.enabled]}

    @staticmethod
    def _pos_reward(r, lang: str, status: str | None, T) -> dict:
        affordable = status == T("can_afford")
        here = cart_free(r)
        return {"id": r.id, "name": r.name_for(lang), "cost": r.points_cost, "available": affordable and here,
                "reason_text": None if affordable and here else
                (T.t.gettext("Use this reward in your cart at checkout") if affordable else status)}


def _percent(progress: dict) -> int:
    """How far along a badge or challenge is, 0-100 ({"current": 2, "target": 3} -> 66)."""
    target = Decimal(str(progress["target"]))
    current = Decimal(str(progress["current"]))
    return 100 if target <= 0 else int(min(Decimal(100), max(Decimal(0), 100 * current / target)))
