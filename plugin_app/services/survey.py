"""The feedback survey (domain.survey): answered once per member in the panel, rewarded once.

The answer and its reward are one unit of work: the row (unique per member and survey) is
written first; only the request that wrote it posts the points, keyed `survey:<member>:<survey>`,
so duplicate or concurrent posts pay once. A second answer is refused (409 already_answered)."""
from __future__ import annotations

from ..domain.errors import DomainError, InvalidRequest, NotFound
from ..domain.expiry import expires_at
from ..domain.ledger import Asset, Source
from ..domain.reasons import Reason
from ..domain.survey import BadAnswer, check_answers, text_for
from ..domain.ports import Clock, SystemClock
from ..i18n import N_, Translator, translator
from ..storage.db import Database
from ..storage.survey_repo import SurveyRepo
from .widget_texts import shopper_locale

NO_SURVEY = N_("There is no such survey.")
ANSWERED = N_("You have answered this survey already.")
REFUSED = N_("Please check your answer to this question.")


class SurveyNotFound(NotFound):
    code = "survey_not_found"


class AlreadyAnswered(DomainError):
    code = "already_answered"
    status = 409


class AnswerRefused(InvalidRequest):
    code = "invalid_answer"


class Surveys:
    def __init__(self, db: Database, ledger, programs, members, clock: Clock | None = None) -> None:
        self.db, self.ledger, self.programs, self.members = db, ledger, programs, members
        self.clock = clock or SystemClock()

    def answer(self, shop_id: int, customer_id: str, survey_id: str, answers: object,
               locale: str | None = None) -> dict:
        pv = self.programs.current(shop_id)
        program, version = pv.program, pv.version
        survey = program.survey
        tr = translator(shopper_locale(program, locale))
        if not survey.enabled or survey.id != survey_id:
            raise SurveyNotFound(tr.gettext(NO_SURVEY))
        try:
            kept = check_answers(survey, answers)
        except BadAnswer as exc:
            raise AnswerRefused(tr.gettext(REFUSED), question=exc.question, detail=exc.message) from None
        member, _ = self.members.enrol(shop_id, customer_id)
        now = self.clock.now()
        with self.db.uow(shop_id) as uow:
            if not uow.survey.record(member.id, survey.id, kept, survey.points, version, now):
                raise AlreadyAnswered(tr.gettext(ANSWERED))
            if survey.points:
                self.ledger.earn(shop_id, member.id, Asset.POINTS, survey.points,
                                 key=f"survey:{member.id}:{survey.id}", source=Source.ACTION, program_version=version,
                                 reason=Reason("survey.answered", {"survey": survey.id, "points": survey.points}),
                                 expires_at=expires_at(program, Asset.POINTS, now))
        return {"survey_id": survey.id, "answered": True, "points": survey.points}

    def answers(self, shop_id: int, survey_id: str, before: int | None, limit: int) -> dict:
        """The merchant's page of answers to one survey, newest first."""
        with self.db.uow(shop_id) as uow:
            rows = uow.survey.page(survey_id, before, limit)
        return {"answers": [{"id": r.id, "member_id": r.member_id, "answers": r.answers, "points": int(r.points),
                             "answered_at": r.answered_at.isoformat()} for r in rows],
                "next_before": rows[-1].id if len(rows) == limit else None}

    @staticmethod
    def view(conn, shop_id: int, member_id: int, program, tr: Translator) -> dict:
        """The `/me` part: the survey to answer in the panel, in the shopper's language."""
        survey = program.survey
        if not survey.enabled:
            return {}
        lang = tr.locale
        return {"survey": {
            "id": survey.id, "points": survey.points,
            "answered": SurveyRepo(conn, shop_id).answered(member_id, survey.id),
            "questions": [{"id": q.id, "kind": q.kind, "text": text_for(q.text, lang),
                           "choices": [{"id": c.id, "text": text_for(c.text, lang)} for c in q.choices]}
                          for q in survey.questions]}}
