"""A shop's program versions (`programs`): every change is a new row, numbered 1, 2, 3… per
shop; the newest is the current program. Shop-scoped like every repository (`repos.ShopScoped`)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Row

from . import tables as t
from .repos import ShopScoped, insert_ignore

p = t.programs.c


class ProgramsRepo(ShopScoped):
    def newest(self) -> Row | None:
        """The current version's row; None when the shop has none yet."""
        return self._one(select(t.programs).where(p.shop_id == self.shop_id).order_by(p.version.desc()).limit(1))

    def version(self, version: int) -> Row | None:
        return self._one(select(t.programs).where(p.shop_id == self.shop_id, p.version == version))

    def history(self, limit: int) -> list[Row]:
        """(version, author, note, restored_from, created_at), newest first."""
        return self.conn.execute(select(p.version, p.author, p.note, p.restored_from, p.created_at)
                                 .where(p.shop_id == self.shop_id).order_by(p.version.desc()).limit(limit)).all()

    # -- writing ---------------------------------------------------------------------------
    def lock_writers(self) -> None:
        """Serialise the shop's program writers until the transaction ends, so that versions are
        gap-free and unique: a lock on the shop's row, FOR NO KEY UPDATE. It excludes other
        program writers but not the key-share locks that foreign-key checks take, so postings
        for the shop never queue behind a program edit."""
        self.conn.execute(select(t.shops.c.id).where(t.shops.c.id == self.shop_id).with_for_update(key_share=True))

    def latest_version(self) -> int:
        """The newest version number; 0 when there is none (take `lock_writers` first)."""
        return self.conn.execute(select(func.max(p.version)).where(p.shop_id == self.shop_id)).scalar() or 0

    def add(self, version: int, document: dict, author: str, note: str | None, restored_from: int | None,
            now: datetime) -> None:
        self.conn.execute(insert(t.programs).values(
            shop_id=self.shop_id, version=version, document=document, author=author, note=note,
            restored_from=restored_from, created_at=now))

    def add_first(self, document: dict, now: datetime) -> None:
        """Version 1, by `system`, unless the shop has one. Takes no lock: two first writers race
        on the (shop, version) key and one insert wins."""
        insert_ignore(self.conn, t.programs, dict(
            shop_id=self.shop_id, version=1, document=document, author="system", note="default program",
            restored_from=None, created_at=now), ["shop_id", "version"])
