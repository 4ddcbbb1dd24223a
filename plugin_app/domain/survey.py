"""The feedback survey (issue 20): the program's `survey` section and the check of an answer.

A short survey the merchant defines (1-5 questions, each a text per language): a rating from 1
to 5, one choice among the merchant's, or a short text (at most 500 characters). A member answers
it once, in the panel; the answer is kept for the merchant and rewarded once (the service posts
the points with the key `survey:<member>:<survey id>`). Every question must be answered; a
short-text answer may be empty."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

FORBID = {"extra": "forbid"}
_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
TEXT_MAX = 500


def _check(cond: bool, name: str, message: str) -> None:
    if not cond:
        raise ValueError(f"{name}: {message}")


def _check_texts(texts: dict[str, str], name: str, limit: int) -> None:
    _check(bool(texts), name, "give the text in at least one language")
    for lang, text in texts.items():
        _check(re.fullmatch(r"[a-z]{2}", lang) is not None, name, f"{lang!r}: a language code like it or de")
        _check(isinstance(text, str) and 0 < len(text.strip()) <= limit, name,
               f"{lang}: 1 to {limit} characters")


def text_for(texts: dict[str, str], lang: str, fallback: str = "en") -> str:
    return texts.get(lang) or texts.get(fallback) or next(iter(texts.values()), "")


@dataclass(frozen=True)
class Choice:
    __pydantic_config__ = FORBID
    id: str
    text: dict[str, str]

    def __post_init__(self) -> None:
        _check(_ID.fullmatch(self.id or "") is not None, "id", "1-40 letters, digits, - or _")
        _check_texts(self.text, "text", 100)


@dataclass(frozen=True)
class Question:
    __pydantic_config__ = FORBID
    id: str
    kind: Literal["rating", "choice", "text"]
    text: dict[str, str]  # {"en": "How did we do?", "it": "Come siamo andati?"}
    choices: list[Choice] = field(default_factory=list)  # kind choice: 2 to 10

    def __post_init__(self) -> None:
        _check(_ID.fullmatch(self.id or "") is not None, "id", "1-40 letters, digits, - or _")
        _check_texts(self.text, "text", 300)
        if self.kind == "choice":
            _check(2 <= len(self.choices) <= 10, "choices", "a choice question has 2 to 10 choices")
            ids = [c.id for c in self.choices]
            _check(len(set(ids)) == len(ids), "choices", "choice ids must be unique")
        else:
            _check(not self.choices, "choices", "only a choice question has choices")


@dataclass(frozen=True)
class Survey:
    __pydantic_config__ = FORBID
    enabled: bool = False
    id: str = "feedback"  # a new id is a new survey: everyone may answer it (once)
    questions: list[Question] = field(default_factory=list)
    points: int = 0  # the reward, once per member

    def __post_init__(self) -> None:
        _check(_ID.fullmatch(self.id or "") is not None, "id", "1-40 letters, digits, - or _")
        _check(0 <= self.points <= 1_000_000, "points", "must be between 0 and 1000000")
        _check(len(self.questions) <= 5, "questions", "at most 5 questions")
        _check(not self.enabled or self.questions, "questions", "an enabled survey needs 1 to 5 questions")
        ids = [q.id for q in self.questions]
        _check(len(set(ids)) == len(ids), "questions", "question ids must be unique")


class BadAnswer(ValueError):
    def __init__(self, question: str, message: str) -> None:
        super().__init__(f"{question}: {message}")
        self.question, self.message = question, message


def check_answers(survey: Survey, answers: object) -> dict[str, object]:
    """The answers as kept ({question id: 1-5 | choice id | text}); raises BadAnswer."""
    if not isinstance(answers, dict):
        raise BadAnswer("answers", "an object of question id to answer")
    unknown = sorted(set(answers) - {q.id for q in survey.questions})
    if unknown:
        raise BadAnswer(str(unknown[0])[:40], "no such question")
    kept: dict[str, object] = {}
    for q in survey.questions:
        if q.id not in answers:
            raise BadAnswer(q.id, "answer every question")
        value = answers[q.id]
        if q.kind == "rating":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
                raise BadAnswer(q.id, "a rating from 1 to 5")
        elif q.kind == "choice":
            if value not in {c.id for c in q.choices}:
                raise BadAnswer(q.id, "one of the choices")
        else:
            if not isinstance(value, str) or len(value.strip()) > TEXT_MAX:
                raise BadAnswer(q.id, f"a text of at most {TEXT_MAX} characters")
            value = value.strip()
        kept[q.id] = value
    return kept
