"""Customer tokens: a verified token is remembered with its secret, so the widget's repeated
reads skip the HMAC; the expiry is still checked on every use, another secret is another key,
and nothing that failed is remembered."""
import pytest

from plugin_app.services import identity


def test_a_remembered_token_is_still_checked_for_expiry_and_secret():
    token = identity.sign(7, "c-1", "secret-a", ttl=60, now=1_000_000)
    assert identity.verify(token, "secret-a", now=1_000_010).customer_id == "c-1"
    assert identity.verify(token, "secret-a", now=1_000_020).customer_id == "c-1"  # remembered
    with pytest.raises(identity.BadToken, match="expired"):
        identity.verify(token, "secret-a", now=1_000_061)
    with pytest.raises(identity.BadToken, match="signature"):  # the shop rotated its widget secret
        identity.verify(token, "secret-b", now=1_000_010)


def test_what_fails_is_never_remembered_and_a_bad_expiry_is_a_bad_token():
    remembered = identity._verified.cache_info().currsize
    forged = identity.sign(7, "c-1", "not-the-secret", ttl=60)
    for _ in range(3):
        with pytest.raises(identity.BadToken):
            identity.verify(forged, "secret-a")
    assert identity._verified.cache_info().currsize == remembered
    payload = "v1.7.YzE.soon"  # an expiry that is no number: refused, not an error
    import hashlib
    import hmac
    token = f"{payload}.{hmac.new(b'secret-a', payload.encode(), hashlib.sha256).hexdigest()}"
    with pytest.raises(identity.BadToken, match="malformed"):
        identity.verify(token, "secret-a")
