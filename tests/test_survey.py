"""The feedback survey (issue 20) on PostgreSQL: defined by the merchant, answered once in the
panel, rewarded once through the ledger (even under duplicate and concurrent posts), readable by
the merchant page by page, and nothing of another shop's."""
from __future__ import annotations

import threading

import pytest

from plugin_app.domain.survey import BadAnswer, Survey, check_answers
from plugin_app.services import identity
from plugin_app.services.audit import run_audit
from plugin_app.services.explain import render
from plugin_app.domain.reasons import Reason
from plugin_app.i18n import translator

from . import factories as F

QUESTIONS = [
    {"id": "stars", "kind": "rating", "text": {"en": "How did we do?", "it": "Come siamo andati?"}},
    {"id": "found", "kind": "choice", "text": {"en": "How did you find us?"},
     "choices": [{"id": "friend", "text": {"en": "A friend", "it": "Un amico"}}, {"id": "ad", "text": {"en": "An ad"}}]},
    {"id": "note", "kind": "text", "text": {"en": "Anything else?"}},
]
SURVEY = {"enabled": True, "id": "spring", "questions": QUESTIONS, "points": 25}
GOOD = {"stars": 5, "found": "friend", "note": "  Lovely shop  "}


def _survey() -> Survey:
    from plugin_app.domain.program import Program
    from pydantic import TypeAdapter

    return TypeAdapter(Program).validate_python({"survey": SURVEY}).survey


@pytest.mark.parametrize("answers, question", [
    ({**GOOD, "stars": 6}, "stars"), ({**GOOD, "stars": 0}, "stars"), ({**GOOD, "stars": "5"}, "stars"),
    ({**GOOD, "stars": True}, "stars"), ({**GOOD, "found": "tv"}, "found"), ({**GOOD, "note": "x" * 501}, "note"),
    ({"stars": 4, "found": "ad"}, "note"), ({**GOOD, "extra": 1}, "extra"), ([], "answers"),
])
def test_answers_checked(answers, question):
    with pytest.raises(BadAnswer) as caught:
        check_answers(_survey(), answers)
    assert caught.value.question == question


def test_answers_kept_trimmed():
    assert check_answers(_survey(), {**GOOD, "note": "x" * 500}) == {**GOOD, "note": "x" * 500}
    assert check_answers(_survey(), GOOD)["note"] == "Lovely shop"


def test_reason_in_every_language():
    texts = {lang: render(Reason("survey.answered", {"survey": "spring", "points": 25}), translator(lang))
             for lang in ("en", "it", "de", "fr", "es")}
    assert texts["en"] == "Thank you for your feedback" and len(set(texts.values())) == 5


def _http(tx_app, **program):
    rt = tx_app.extensions["loyalty"]
    shop, key = F.shop_and_key(rt)
    F.use_program(rt, shop, **program)
    return rt, rt.shops.get(shop.id), {"Authorization": f"Bearer {key}"}


def _auth(rt, shop, member):
    return {"Authorization": f"Bearer {identity.sign(shop.id, member.platform_customer_id, rt.shops.widget_secret(shop.id))}"}


def survey_entries(rt, shop, member):
    with rt.db.uow(shop.id) as uow:
        return [e for e in uow.ledger.entries(member.id) if e.idempotency_key.startswith("survey:")]


def test_answer_once_rewarded_once_and_the_merchant_reads_them(tx_app):
    rt, shop, admin = _http(tx_app, survey=SURVEY)
    client = tx_app.test_client()
    m = F.member(rt, shop)
    auth = _auth(rt, shop, m)
    url = f"/storefront/v1/me/survey/spring?shop={shop.widget_key}"
    me = client.get(f"/storefront/v1/me?shop={shop.widget_key}&locale=it", headers=auth).get_json()["member"]
    assert me["survey"]["answered"] is False and me["survey"]["questions"][0]["text"] == "Come siamo andati?"
    assert me["survey"]["questions"][1]["choices"][1]["text"] == "An ad"  # no Italian given: English
    assert client.post(url, json={"answers": GOOD}).status_code == 401
    bad = client.post(url, json={"answers": {**GOOD, "stars": 9}}, headers=auth)
    assert bad.status_code == 422 and bad.get_json()["error"]["details"]["question"] == "stars"
    assert client.post(f"/storefront/v1/me/survey/autumn?shop={shop.widget_key}", json={"answers": GOOD},
                       headers=auth).status_code == 404
    first = client.post(url, json={"answers": GOOD}, headers=auth)
    assert first.status_code == 201 and first.get_json() == {"survey_id": "spring", "answered": True, "points": 25}
    again = client.post(url, json={"answers": {**GOOD, "stars": 1}}, headers=auth)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_answered"
    (entry,) = survey_entries(rt, shop, m)
    assert entry.idempotency_key == f"survey:{m.id}:spring" and entry.reason_code == "survey.answered"
    assert rt.members.get(shop.id, m.id)[1].points == 25
    assert client.get(f"/storefront/v1/me?shop={shop.widget_key}", headers=auth).get_json()["member"]["survey"]["answered"]
    # the merchant pages through the answers; another shop sees none of them
    others = [F.member(rt, shop) for _ in range(2)]
    for o in others:
        assert client.post(url, json={"answers": {**GOOD, "found": "ad"}}, headers=_auth(rt, shop, o)).status_code == 201
    page = client.get("/admin/api/v1/surveys/spring/answers?limit=2", headers=admin).get_json()
    assert [a["member_id"] for a in page["answers"]] == [others[1].id, others[0].id] and page["next_before"]
    rest = client.get(f"/admin/api/v1/surveys/spring/answers?limit=2&before={page['next_before']}", headers=admin).get_json()
    assert [(a["member_id"], a["answers"], a["points"]) for a in rest["answers"]] == [
        (m.id, {**GOOD, "note": "Lovely shop"}, 25)] and rest["next_before"] is None
    _, _, other_admin = _http(tx_app, survey=SURVEY)
    assert client.get("/admin/api/v1/surveys/spring/answers", headers=other_admin).get_json()["answers"] == []
    assert client.get("/admin/api/v1/surveys/spring/answers").status_code == 401
    assert client.get("/admin/api/v1/surveys/spring/answers?limit=0", headers=admin).status_code == 422
    paths = client.get("/openapi.json").get_json()["paths"]
    assert {"/storefront/v1/me/survey/{survey_id}", "/admin/api/v1/surveys/{survey_id}/answers"} <= set(paths)
    assert run_audit(rt.db, shop_id=shop.id).ok


def test_survey_off_is_404(tx_app):
    rt, shop, _ = _http(tx_app, survey={**SURVEY, "enabled": False})
    m = F.member(rt, shop)
    answer = tx_app.test_client().post(f"/storefront/v1/me/survey/spring?shop={shop.widget_key}",
                                       json={"answers": GOOD}, headers=_auth(rt, shop, m))
    assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "survey_not_found"


def test_duplicate_posts_at_once_reward_once(runtime):
    """Six threads post the same shopper's answer at once: one answer kept, one reward."""
    rt = runtime
    shop = F.shop(rt)
    F.use_program(rt, shop, survey=SURVEY)
    m = F.member(rt, shop)
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def post():
        barrier.wait()
        try:
            rt.surveys.answer(shop.id, m.platform_customer_id, "spring", GOOD)
            outcomes.append("ok")
        except Exception as exc:  # noqa: BLE001 - the outcome is what is tested
            outcomes.append(getattr(exc, "code", type(exc).__name__))

    threads = [threading.Thread(target=post) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(outcomes) == ["already_answered"] * 5 + ["ok"], outcomes
    assert len(survey_entries(rt, shop, m)) == 1 and rt.members.get(shop.id, m.id)[1].points == 25
    assert run_audit(rt.db).ok


def test_program_validation_of_the_survey(tx_app):
    rt, shop, admin = _http(tx_app)
    client = tx_app.test_client()
    current = client.get("/admin/api/v1/program", headers=admin).get_json()
    doc = current.get("program", current)
    for section, field in (({**SURVEY, "questions": []}, "survey.questions"),
                           ({**SURVEY, "questions": QUESTIONS * 2}, "survey.questions"),
                           ({**SURVEY, "questions": [{**QUESTIONS[1], "choices": []}]}, "survey.questions.0.choices"),
                           ({**SURVEY, "questions": [{**QUESTIONS[0], "kind": "stars"}]}, "survey.questions.0.kind"),
                           ({**SURVEY, "points": -1}, "survey.points")):
        answer = client.put("/admin/api/v1/program", json={**doc, "survey": section}, headers=admin)
        assert answer.status_code == 422, answer.get_json()
        assert field in [f["field"] for f in answer.get_json()["error"].get("fields", [])], (field, answer.get_json())


def test_a_redacted_customer_leaves_the_leaderboard_and_keeps_only_ratings(tx_runtime):
    from plugin_app.domain.events import CustomerRedact
    from sqlalchemy import select
    from plugin_app.storage import tables as t

    rt = tx_runtime
    shop = F.shop(rt)
    F.use_program(rt, shop, survey=SURVEY, leaderboard={"enabled": True, "period": "all_time"})
    m = F.member(rt, shop, "c1", email="gone@example.com")
    rt.leaderboards.opt_in(shop.id, "c1", "Going Soon")
    rt.ledger.earn(shop.id, m.id, "points", 10, key="k", source="order", reason="x")
    rt.surveys.answer(shop.id, "c1", "spring", {**GOOD, "note": "call me on 555"})
    assert [e["display_name"] for e in rt.leaderboards.board(shop.id, None)["entries"]] == ["Going Soon"]
    rt.platform.apply(shop.id, CustomerRedact("c1", (), "gone@example.com"))
    assert rt.leaderboards.board(shop.id, None)["entries"] == []
    with rt.db.uow(shop.id) as uow:
        answers = uow.conn.execute(select(t.survey_answers.c.answers).where(
            t.survey_answers.c.shop_id == shop.id)).scalar_one()
    assert answers == {"stars": 5}
