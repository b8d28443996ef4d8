"""Client-side helpers written independently of the simulator's code, so tests check it for real."""

from __future__ import annotations

import base64
import hashlib
import struct
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests
from Crypto.Cipher import DES3
from Crypto.Util.Padding import pad

from airflow_provider_aigc.simulator import DEMO_CREDENTIALS

if TYPE_CHECKING:
    from airflow_provider_aigc.simulator.clock import Clock

ZHIPU = DEMO_CREDENTIALS["zhipu"]
BAIDU = DEMO_CREDENTIALS["baidu"]
JUMDATA = DEMO_CREDENTIALS["jumdata"]


def zhipu_key(api_name: str, credential: str, des3_key: str = ZHIPU["des3_key"]) -> str:
    """base64(3DES-ECB-PKCS7(des3_key, "api_name:credential")), the project's documented layout."""
    cipher = DES3.new(DES3.adjust_key_parity(des3_key.encode()), DES3.MODE_ECB)
    return base64.b64encode(cipher.encrypt(pad(f"{api_name}:{credential}".encode(), 8))).decode()


def zhipu_keys(api_name: str) -> dict[str, str]:
    return {
        "apikey": zhipu_key(api_name, ZHIPU["app_key"]),
        "apisecret": zhipu_key(api_name, ZHIPU["app_secret"]),
    }


@dataclass
class Png:
    width: int
    height: int
    chunks: list[tuple[bytes, int]] = field(default_factory=list)  # (type, data length)
    pixels: bytes = b""


def parse_png(data: bytes) -> Png:
    """Check signature, every chunk CRC and the IEND terminator; return size and chunk list."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "bad signature"
    offset, png, idat = 8, Png(0, 0), b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        png.chunks.append((kind, length))
        if kind == b"IHDR":
            png.width, png.height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    assert png.chunks[0][0] == b"IHDR"
    assert png.chunks[-1] == (b"IEND", 0)
    png.pixels = zlib.decompress(idat)
    return png


@dataclass
class Sim:
    """A client for a simulator at ``url`` whose clock (for jumdata timestamps) is ``clock``."""

    url: str
    clock: Clock
    http: requests.Session = field(default_factory=requests.Session)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.get(self.url + path, timeout=30, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.post(self.url + path, timeout=30, **kwargs)

    def configure(self, patch: dict[str, Any]) -> dict[str, Any]:
        response = self.post("/_sim/config", json=patch)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def stats(self, vendor: str | None = None) -> dict[str, Any]:
        stats = self.get("/_sim/stats").json()
        return dict(stats["vendors"][vendor] if vendor else stats)

    # zhipu
    def zhipu_submit(self, app: str = "cogview", keys: dict[str, str] | None = None, **fields: Any) -> Any:
        path = "/v1/cogview" if app == "cogview" else "/v1/news"
        defaults: dict[str, Any] = {"query": "美国男篮大战中国男篮"}
        if app != "cogview":
            defaults = {"content": "神州十三号飞船发射成功", "max_length": 100}
        body = {"key": "queue1", **defaults, **(keys or zhipu_keys(app)), **fields}
        return self.post(path, json=body).json()

    def zhipu_status(self, task_id: str) -> Any:
        return self.get("/v1/status", params={"task_id": task_id}).json()

    # baidu
    def baidu_token(self) -> str:
        params = {
            "grant_type": "client_credentials",
            "client_id": BAIDU["api_key"],
            "client_secret": BAIDU["secret_key"],
        }
        return str(self.post("/oauth/2.0/token", params=params).json()["access_token"])

    def baidu_submit(self, token: str, **body: Any) -> Any:
        payload = {"prompt": "睡莲", "width": 1024, "height": 1024, "image_num": 1, **body}
        return self.post(
            "/rpc/2.0/ernievilg/v1/txt2imgv2", params={"access_token": token}, json=payload
        ).json()

    def baidu_status(self, token: str, task_id: int | str) -> Any:
        return self.post(
            "/rpc/2.0/ernievilg/v1/getImgv2", params={"access_token": token}, json={"task_id": task_id}
        ).json()

    # jumdata
    def jumdata_form(self, **fields: str) -> dict[str, str]:
        timestamp = str(int(self.clock.now() * 1000))
        sign = hashlib.sha256((JUMDATA["app_id"] + JUMDATA["app_secret"] + timestamp).encode()).hexdigest()
        return {"appId": JUMDATA["app_id"], "timestamp": timestamp, "sign": sign, **fields}

    def jumdata_submit(self, **fields: str) -> Any:
        form = {"text": "山水之间", "resolution": "1024*1024", "style": "古风", **fields}
        return self.post("/ai/draw/submit", data=self.jumdata_form(**form)).json()

    def jumdata_query(self, task_id: str) -> Any:
        return self.post("/ai/draw/query", data=self.jumdata_form(taskId=task_id)).json()
