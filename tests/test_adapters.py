"""The ports' stand-in adapters, chosen in the composition root: without an SMTP relay emails
wait (webhooks still go); a recording mailer and poster see exactly what would go out; the
SMTP adapter names the transport's own failure; connector errors are the neutral ones."""
import hashlib
import hmac
import json
import socket

import pytest

from plugin_app.adapters.http import RecordingPoster
from plugin_app.adapters.local import LocalCodes
from plugin_app.adapters.mail import MailUnavailable, NullMailer, RecordingMailer, SmtpMailer
from plugin_app.domain.errors import PlatformError, PlatformUnavailable
from plugin_app.domain.ports import OutgoingEmail
from plugin_app.runtime import Runtime

from .conftest import make_settings


def deliver(rt):
    rt.notifier.relay()
    return rt.notifier.send()


def test_without_a_relay_emails_wait_and_webhooks_still_go(clean_db, clock):
    poster = RecordingPoster()
    rt = Runtime(make_settings(clean_db), clock=clock, poster=poster)  # no smtp_host
    assert isinstance(rt.notifier.mailer, NullMailer)
    shop, _ = rt.shops.register("demo", "quiet.example", currency="EUR")
    rt.notifier.add_endpoint(shop.id, "https://hooks.example/in", ["member.enrolled"], "whsec_x")
    rt.members.enrol(shop.id, "c1", email="a@example.com")
    assert deliver(rt) == 1
    [(url, body, headers)] = poster.calls
    expected = "sha256=" + hmac.new(b"whsec_x", headers["X-Loyalty-Timestamp"].encode() + b"." + body,
                                    hashlib.sha256).hexdigest()
    assert url == "https://hooks.example/in" and headers["X-Loyalty-Signature"] == expected
    assert json.loads(body)["topic"] == "member.enrolled"
    assert {e["topic"]: (e["state"], e["attempts"]) for e in rt.notifier.log(shop.id, target="email")} == {
        "welcome": ("pending", 0)}  # not claimed: it waits for a relay
    rt.close()


def test_a_recording_mailer_sees_the_message_as_sent_and_an_outage_is_retried(clean_db, clock):
    mailer, poster = RecordingMailer("rewards@loyalty.example"), RecordingPoster(status=500)
    rt = Runtime(make_settings(clean_db), clock=clock, mailer=mailer, poster=poster)
    shop, _ = rt.shops.register("demo", "shop.example", currency="EUR", name="Shop")
    rt.notifier.add_endpoint(shop.id, "https://hooks.example/in", ["member.enrolled"], "whsec_x")
    mailer.down = ConnectionRefusedError(111, "Connection refused")
    rt.members.enrol(shop.id, "c1", email="a@example.com")
    assert deliver(rt) == 0
    log = {e["channel"]: e for e in rt.notifier.log(shop.id)}
    assert log["email"]["last_error"] == "ConnectionRefusedError: [Errno 111] Connection refused"
    assert log["webhook"]["last_error"] == "RuntimeError: HTTP 500"
    mailer.down, poster.status = None, 204
    clock.advance(seconds=31)
    assert deliver(rt) == 2
    [(to, msg)] = mailer.sent
    assert to == "a@example.com" and msg["From"] == "Shop <rewards@loyalty.example>"
    assert msg["Message-ID"] == f"<notification-{log['email']['id']}@loyalty.example>"
    rt.close()


def test_the_smtp_adapter_names_the_transports_failure():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    with pytest.raises(MailUnavailable, match=r"^ConnectionRefusedError: ") as caught:
        SmtpMailer("127.0.0.1", port, starttls=False, timeout=2).open()
    assert caught.value.retryable and isinstance(caught.value, PlatformUnavailable)
    email = OutgoingEmail(to="a@example.com", subject="Hi", body="x", message_key="k", unsubscribe_url="https://u")
    assert email.lang == "en"


def test_connector_errors_are_the_neutral_ones_and_local_codes_keep_to_our_records():
    from connectors.shopify import admin as shopify
    from connectors.woocommerce import admin as woo

    for module in (shopify, woo):
        assert issubclass(module.Retryable, PlatformUnavailable) and module.Retryable.retryable
        assert issubclass(module.Terminal, PlatformError) and not issubclass(module.Terminal, PlatformUnavailable)
    codes = LocalCodes()
    assert codes.create_discount_code(code="ABC", title="t", customer_id="c", ends_at="x") == "local:ABC"
    assert codes.discount_usage("local:ABC") == 0 and codes.set_customer_fields([("c", {"points": "1"})]) == 0
