"""A person's correction to a balance (the admin page, the JSON API, the CLI): one use case, so
every entry point credits value the same way. An upward adjustment lapses like any other credit
(`domain.expiry`); the tier follows it at once (the posting's handler, `services.handlers`)."""
from __future__ import annotations

from ..domain.expiry import expires_at
from ..domain.ledger import Asset
from ..domain.ports import Clock, SystemClock
from .ledger import Ledger, Posted
from .program import Programs


class Adjustments:
    def __init__(self, ledger: Ledger, programs: Programs, clock: Clock | None = None) -> None:
        self.ledger, self.programs, self.clock = ledger, programs, clock or SystemClock()

    def adjust(self, shop_id: int, member_id: int, asset: Asset | str, amount, *, key: str, actor: str,
               reason: str) -> Posted:
        asset = Asset(asset)
        program = self.programs.current(shop_id).program
        return self.ledger.adjust(shop_id, member_id, asset, amount, key=key, actor=actor, reason=reason,
                                  expires_at=expires_at(program, asset, self.clock.now()))
