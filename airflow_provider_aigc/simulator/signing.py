"""The cryptography the vendors use, seen from the server side."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from Crypto.Cipher import DES3
from Crypto.Util.Padding import unpad


def des3_decrypt(key_text: str, value: str) -> str | None:
    """Zhipu's derived keys: base64 of 3DES-ECB (PKCS7) under the des3_key text; None if not ours."""
    try:
        key = DES3.adjust_key_parity(key_text.encode("utf-8"))
        sealed = base64.b64decode(value, validate=True)
        return unpad(DES3.new(key, DES3.MODE_ECB).decrypt(sealed), DES3.block_size).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def jumdata_sign(app_id: str, app_secret: str, timestamp: str) -> str:
    """Jumdata's request signature: sha256 hex of appId + appSecret + timestamp."""
    return hashlib.sha256(f"{app_id}{app_secret}{timestamp}".encode()).hexdigest()


class UrlSigner:
    """HMAC over a download URL's parts, so an expiry cannot be edited without breaking the URL."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self.access_key = hashlib.sha256(b"bos-ak" + secret).hexdigest()[:32]

    def sign(self, *parts: str) -> str:
        return hmac.new(self._secret, "\n".join(parts).encode(), hashlib.sha256).hexdigest()

    def verify(self, signature: str, *parts: str) -> bool:
        return hmac.compare_digest(self.sign(*parts), signature)
