"""Encryption at rest for platform tokens and secrets (Fernet: AES-128-CBC + HMAC-SHA256).

`LOYALTY_ENCRYPTION_KEY` holds one or more comma-separated Fernet keys; the first encrypts,
all decrypt, so keys can be rotated by prepending a new one and running `loyalty keys rotate`.
Outside production, a key is generated once into `instance/dev-encryption.key` (never committed).
"""
from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from .settings import PROJECT_ROOT, Settings

DEV_KEY_FILE = PROJECT_ROOT / "instance" / "dev-encryption.key"


class UndecryptableSecret(ValueError):
    """A stored secret does not open with the configured keys: LOYALTY_ENCRYPTION_KEY is not the
    key (or key list) the data was written with."""


class SecretBox:
    def __init__(self, keys: tuple[str, ...]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is required")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise UndecryptableSecret("secret cannot be decrypted with the configured keys "
                                      "(LOYALTY_ENCRYPTION_KEY)") from None

    def rotate(self, token: str) -> str:
        return self._fernet.rotate(token.encode()).decode()


def box_for(settings: Settings) -> SecretBox:
    if settings.encryption_keys:
        return SecretBox(settings.encryption_keys)
    path = Path(DEV_KEY_FILE)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Fernet.generate_key().decode())
        path.chmod(0o600)
    return SecretBox((path.read_text().strip(),))
