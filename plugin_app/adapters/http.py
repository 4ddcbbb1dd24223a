"""The `WebhookPoster` port: httpx for the merchant's endpoints, and a recording stand-in."""
from __future__ import annotations

from typing import Mapping

import httpx

from ..domain.errors import PlatformUnavailable


class WebhookUnreachable(PlatformUnavailable):
    """No answer: the endpoint could not be reached, or timed out."""


class HttpxPoster:
    def __init__(self, client: httpx.Client | None = None) -> None:
        self.client = client or httpx.Client()

    def post(self, url: str, body: bytes, headers: Mapping[str, str], *, timeout: float = 10.0) -> int:
        try:
            return self.client.post(url, content=body, headers=dict(headers), timeout=timeout).status_code
        except httpx.HTTPError as exc:  # its text keeps the original type, for the delivery log
            raise WebhookUnreachable(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        self.client.close()


class RecordingPoster:
    """Answers `status` to every post and keeps (url, body, headers) in `calls`."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.calls: list[tuple[str, bytes, dict[str, str]]] = []

    def post(self, url: str, body: bytes, headers: Mapping[str, str], *, timeout: float = 10.0) -> int:
        self.calls.append((url, body, dict(headers)))
        return self.status
