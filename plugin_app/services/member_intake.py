"""Members the merchant brings in by e-mail or customer id (the merchant API, one or a thousand at a
time): each request finds the member the shop already has, or enrols a new one.

A member is keyed by the platform's customer id. Given only an e-mail, the member is looked up
among the shop's members (any case); failing that, the customer is looked up on the shop's
platform (domain.ports.CustomerDirectory: Shopify's Admin API, WooCommerce's REST API; demo shops
have none, so their e-mails are looked up among members only), in as few calls as the platform
allows for the whole batch. An e-mail the platform does not know is `customer_not_found`.

This is not a sign-up: a member enrolled here gets no welcome bonus (that is paid on the
platform's customer-created event, services.platform) and no welcome e-mail (the
`member_enrolled` event says `welcome: false`, services.notify). Existing members are returned
as they are: nothing of theirs is changed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Callable

from ..domain import birthdays
from ..domain.errors import DomainError, PlatformError, PlatformUnavailable
from ..domain.ports import Clock, CustomerDirectory, PlatformCustomer, SystemClock
from ..storage.db import Database
from .members import Members, locale_tag

EMAIL = re.compile(r"^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f]+$")
MAX_BATCH = 1000

# Why one request could not be answered, and the HTTP status the single-member endpoint gives it.
STATUS = {"invalid_request": 422, "customer_not_found": 404, "ambiguous_email": 409,
          "platform_unavailable": 503, "platform_error": 502}


@dataclass(frozen=True)
class Wanted:
    """One member asked for: an e-mail and/or the platform's customer id, and what to record
    on a member enrolled for it."""
    email: str | None = None
    customer_id: str | None = None
    name: str | None = None
    birthday: str | None = None  # YYYY-MM-DD or --MM-DD
    locale: str | None = None


@dataclass(frozen=True)
class Outcome:
    status: str  # created | existing | error
    member_id: int | None = None
    customer_id: str | None = None
    code: str | None = None  # for an error: a key of STATUS
    message: str | None = None
    customer_ids: tuple[str, ...] = ()  # ambiguous_email: the members sharing the address

    def as_json(self) -> dict:
        out: dict = {"status": self.status}
        if self.status == "error":
            out["error"] = {"code": self.code, "message": self.message}
            if self.customer_ids:
                out["error"]["customer_ids"] = list(self.customer_ids)
        else:
            out.update(member_id=self.member_id, customer_id=self.customer_id)
        return out


def _error(code: str, message: str, **kw) -> Outcome:
    return Outcome("error", code=code, message=message, **kw)


@dataclass(frozen=True)
class _Checked:
    email: str | None
    customer_id: str | None
    name: str | None
    birthday: date | None
    locale: str | None


class MemberIntake:
    def __init__(self, db: Database, members: Members, directory_for: Callable[[int], CustomerDirectory | None],
                 clock: Clock | None = None) -> None:
        self.db, self.members, self.directory_for = db, members, directory_for
        self.clock = clock or SystemClock()

    def find_or_create(self, shop_id: int, wanted: list[Wanted]) -> list[Outcome]:
        """One outcome per request, in order. Requests repeated in a batch enrol once (the later
        ones find the member the earlier one made)."""
        if len(wanted) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} members per batch")
        checked: list[_Checked | Outcome] = [self._check(w) for w in wanted]
        by_id, by_email = self._known(shop_id, checked)
        # E-mails with no member, asked of the platform once for the whole batch.
        missing = sorted({c.email for c in checked if isinstance(c, _Checked) and not c.customer_id
                          and c.email not in by_email})
        found: dict[str, list[PlatformCustomer]] = {}
        failure: Outcome | None = None
        if missing:
            try:
                found = self._lookup(shop_id, missing)
            except PlatformUnavailable as exc:
                failure = _error("platform_unavailable",
                                 f"the shop's platform did not answer; try again later ({exc})"[:300])
            except PlatformError as exc:
                failure = _error("platform_error", f"the shop's platform refused the lookup ({exc})"[:300])
            except (PermissionError, KeyError):  # uninstalled, or no credentials stored: no client to ask
                failure = _error("platform_error", "the shop is not connected to its platform")
        # Each enrolment is its own short transaction (Members.enrol): two batches naming the same
        # customers in another order never wait on each other's locks (one transaction per batch
        # could deadlock), and what was enrolled stays enrolled.
        return [c if isinstance(c, Outcome) else self._one(shop_id, c, by_id, by_email, found, failure)
                for c in checked]

    def by_email(self, shop_id: int, email: str) -> list[tuple[int, str]]:
        """(member id, customer id) of the shop's members with this e-mail (any case), oldest first."""
        with self.db.uow(shop_id) as uow:
            return [(r.id, r.platform_customer_id) for r in uow.members.by_emails([email.strip().lower()])]

    # -- steps ---------------------------------------------------------------------------
    def _check(self, w: Wanted) -> _Checked | Outcome:
        email = (w.email or "").strip().lower() or None
        customer = (w.customer_id or "").strip() or None
        if email is None and customer is None:
            return _error("invalid_request", "give an email or a customer_id")
        if email is not None and (len(email) > 320 or not EMAIL.match(email)):
            return _error("invalid_request", "email is not an e-mail address")
        if customer is not None and len(customer) > 64:
            return _error("invalid_request", "customer_id is at most 64 characters")
        when = None
        if w.birthday:
            try:
                when = birthdays.parse(w.birthday, self.clock.now().date())
            except DomainError as exc:
                return _error("invalid_request", exc.message)
        name = " ".join((w.name or "").split())[:120] or None
        return _Checked(email, customer, name, when, locale_tag(w.locale))

    def _known(self, shop_id: int, checked) -> tuple[dict[str, int], dict[str, list[tuple[int, str]]]]:
        ids = sorted({c.customer_id for c in checked if isinstance(c, _Checked) and c.customer_id})
        emails = sorted({c.email for c in checked if isinstance(c, _Checked) and c.email and not c.customer_id})
        with self.db.uow(shop_id, savepoint=False) as uow:
            by_id = {r.platform_customer_id: r.id for r in uow.members.by_customers(ids)}
            by_email: dict[str, list[tuple[int, str]]] = {}
            for r in uow.members.by_emails(emails):
                by_email.setdefault(r.email.strip().lower(), []).append((r.id, r.platform_customer_id))
        return by_id, by_email

    def _lookup(self, shop_id: int, emails: list[str]) -> dict[str, list[PlatformCustomer]]:
        directory = self.directory_for(shop_id)
        if directory is None:  # a demo shop: its customers exist only as members
            return {}
        out: dict[str, list[PlatformCustomer]] = {}
        for c in directory.customers_by_email(emails):
            out.setdefault(c.email, []).append(c)
        return out

    def _one(self, shop_id: int, c: _Checked, by_id, by_email, found, failure) -> Outcome:
        if c.customer_id:
            customer = c.customer_id
        else:
            members = by_email.get(c.email, [])
            if len(members) > 1:
                return _error("ambiguous_email", "several members share this e-mail; name the customer_id",
                              customer_ids=tuple(cid for _i, cid in members))
            if members:
                return Outcome("existing", members[0][0], members[0][1])
            if failure is not None:
                return failure
            customers = found.get(c.email, [])
            if not customers:
                return _error("customer_not_found", "the shop has no customer with this e-mail")
            if len({p.customer_id for p in customers}) > 1:
                return _error("ambiguous_email",
                              "several of the shop's customers have this e-mail; name the customer_id",
                              customer_ids=tuple(sorted({p.customer_id for p in customers})))
            customer = customers[0].customer_id
            c = _Checked(c.email, customer, c.name or customers[0].name, c.birthday,
                         c.locale or locale_tag(customers[0].locale))
        if customer in by_id:
            return Outcome("existing", by_id[customer], customer)
        try:
            member, created = self.members.enrol(shop_id, customer, email=c.email, name=c.name,
                                                 birthday=c.birthday, locale=c.locale, welcome=False)
        except DomainError as exc:
            return _error("invalid_request", exc.message)
        by_id[customer] = member.id  # a repeat later in the batch finds it
        if c.email:
            by_email.setdefault(c.email, []).append((member.id, customer))
        return Outcome("created" if created else "existing", member.id, customer)
