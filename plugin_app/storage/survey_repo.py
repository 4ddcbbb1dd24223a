"""Answers to the shop's feedback survey: one per member and survey."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from . import tables as t
from .repos import ShopScoped, insert_ignore

sa_ = t.survey_answers.c


class SurveyRepo(ShopScoped):
    def record(self, member_id: int, survey_id: str, answers: dict, points: int, version: int | None,
               now: datetime) -> bool:
        """Keep the member's answer; False when they had answered this survey already."""
        return insert_ignore(self.conn, t.survey_answers, dict(
            shop_id=self.shop_id, member_id=member_id, survey_id=survey_id, answers=answers, points=points,
            program_version=version, answered_at=now), ["shop_id", "member_id", "survey_id"])

    def answered(self, member_id: int, survey_id: str) -> bool:
        return self.conn.execute(select(sa_.id).where(
            sa_.shop_id == self.shop_id, sa_.member_id == member_id, sa_.survey_id == survey_id)).first() is not None

    def page(self, survey_id: str, before: int | None, limit: int) -> list:
        """Answers newest first, `limit` of them older than the answer `before`."""
        stmt = select(sa_.id, sa_.member_id, sa_.answers, sa_.points, sa_.answered_at).where(
            sa_.shop_id == self.shop_id, sa_.survey_id == survey_id)
        if before is not None:
            stmt = stmt.where(sa_.id < before)
        return self.conn.execute(stmt.order_by(sa_.id.desc()).limit(limit)).all()

    def scrub(self, member_id: int) -> int:
        """A redacted customer's answers keep only their ratings (numbers): a text, or a choice
        that cannot be told from a text here, is dropped. How many answers changed."""
        rows = self.conn.execute(select(sa_.id, sa_.answers).where(
            sa_.shop_id == self.shop_id, sa_.member_id == member_id)).all()
        for row in rows:
            kept = {k: v for k, v in (row.answers or {}).items() if isinstance(v, int) and not isinstance(v, bool)}
            self.conn.execute(update(t.survey_answers).where(sa_.shop_id == self.shop_id, sa_.id == row.id)
                              .values(answers=kept))
        return len(rows)
