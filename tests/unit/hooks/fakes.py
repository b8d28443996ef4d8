"""A scripted vendor on loopback: a real HTTP/1.1 server (keep-alive, a thread per connection).

Each path answers from a script of actions; every request is recorded and TCP connections are
counted, so tests can assert what the vendor saw and how many connections a client opened.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: a JSON value (or raw bytes) with a status and headers."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, ensure_ascii=False).encode()


@dataclass(frozen=True)
class Drop:
    """Read the request, then close the connection without answering (a dropped connection)."""


@dataclass(frozen=True)
class Hang:
    """Read the request and answer nothing until the test ends (the client's read timeout fires)."""


Action = Reply | Drop | Hang


@dataclass(frozen=True)
class Seen:
    """One request as the vendor received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def form(self) -> dict[str, str]:
        return {name: values[0] for name, values in parse_qs(self.body.decode()).items()}


class FakeVendor:
    """Scripted answers per path; the last reply of a script repeats."""

    def __init__(self) -> None:
        self.scripts: dict[str, deque[Action]] = defaultdict(deque)
        self.requests: list[Seen] = []
        self.connections = 0
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    def script(self, path: str, *actions: Action) -> None:
        with self._lock:
            self.scripts[path] = deque(actions)

    def seen(self, path: str) -> list[Seen]:
        with self._lock:
            return [request for request in self.requests if request.path == path]

    def _next(self, path: str) -> Action:
        with self._lock:
            script = self.scripts.get(path)
            if not script:
                return Reply({"error": f"no script for {path}"}, status=599)
            return script.popleft() if len(script) > 1 else script[0]

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)

    def _connected(self) -> None:
        with self._lock:
            self.connections += 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        vendor = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                vendor._connected()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the tests read ``vendor.requests`` instead."""

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                query = {name: values[0] for name, values in parse_qs(parts.query).items()}
                headers = {name.lower(): value for name, value in self.headers.items()}
                vendor._record(Seen(self.command, parts.path, query, headers, body))
                action = vendor._next(parts.path)
                if isinstance(action, Drop):
                    self.close_connection = True
                    return
                if isinstance(action, Hang):
                    vendor.release.wait()
                    self.close_connection = True
                    return
                payload = action.encoded()
                self.send_response(action.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in action.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = _serve
            do_POST = _serve

        return Handler

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()


class Sleeps(list[float]):
    """A ``sleep`` that records the pauses instead of taking them."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)

    async def pause(self, seconds: float) -> None:
        self.append(seconds)


# --- documented answers (shapes from the vendor documents in shared/seeds) -------------------

ZHIPU_TASK_ID = "a102d896f571e588"
ZHIPU_IMAGE = "https://wudao.aminer.cn/api/cogview//get-image/b612f9bcf678b16c/1626420752215/0.jpg"
BAIDU_TASK_ID = "1659384536691865192"
BAIDU_IMAGE = (
    "http://aigc-t2p.bj.bcebos.com/artist-long/30169514_0_final.png?authorization=bce-auth-v1%2F"
    "174bf5e9a7a84f55a8e85b1cc5d62b1d%2F2023-07-06T02%3A46%3A53Z%2F1800%2Fhost%2Fb541efeed7bac9a8"
)
JUMDATA_TASK_ID = "7d1e6b0c2f6a4f1b"
JUMDATA_IMAGE = "https://img.jumdata.com/ai/draw/7d1e6b0c2f6a4f1b/0.png"


def zhipu_accepted(app: str = "cogview") -> dict[str, Any]:
    return {
        "message": "success",
        "result": {
            "app": app,
            "created_at": "Fri, 16 Jul 2021 09:11:31 GMT",
            "input": {"text": "美国男篮大战中国男篮"},
            "output": {},
            "process_time": 0,
            "task_id": ZHIPU_TASK_ID,
            "updated_at": "Fri, 16 Jul 2021 09:11:31 GMT",
            "user": {"appId": "60cb108b9777582444f7b867", "id": "111", "name": "222"},
        },
        "status": 0,
    }


def zhipu_waiting(progress: str = "37%") -> dict[str, Any]:
    body = zhipu_accepted()
    body["result"] |= {"status": "wait", "progress": {"value": progress}}
    return body


def zhipu_done() -> dict[str, Any]:
    body = zhipu_accepted()
    body["result"] |= {"output": [ZHIPU_IMAGE], "process_time": 279.701}
    return body


def zhipu_error(code: int, message: str) -> dict[str, Any]:
    return {"status": code, "message": message, "result": {}}


def baidu_token(
    value: str = "24.0f6c1d2e3b4a59687a8b9c0d1e2f3a4b.2592000.1700000000.282335",
) -> dict[str, Any]:
    return {"access_token": value, "expires_in": 2592000, "scope": "brain_ernievilg_txt2img"}


def baidu_accepted() -> dict[str, Any]:
    return {
        "data": {"primary_task_id": int(BAIDU_TASK_ID), "task_id": BAIDU_TASK_ID},
        "log_id": 1583376431827547238,
    }


def baidu_done() -> dict[str, Any]:
    return {
        "log_id": 1583376431827547239,
        "data": {
            "task_id": int(BAIDU_TASK_ID),
            "task_status": "SUCCESS",
            "task_progress": 1,
            "sub_task_result_list": [
                {
                    "final_image_list": [
                        {
                            "height": 1024,
                            "width": 1024,
                            "img_approve_conclusion": "pass",
                            "img_url": BAIDU_IMAGE,
                        }
                    ],
                    "sub_task_error_code": 0,
                    "sub_task_progress": 1,
                    "sub_task_status": "SUCCESS",
                }
            ],
        },
    }


def baidu_error(code: int, message: str) -> dict[str, Any]:
    return {"error_code": code, "error_msg": message, "log_id": 1583376431827547240}


def jumdata_accepted() -> dict[str, Any]:
    return {
        "code": 200,
        "msg": "成功",
        "taskNo": "043439882226367117195632",
        "charge": True,
        "data": {"taskId": JUMDATA_TASK_ID},
    }


def jumdata_done() -> dict[str, Any]:
    return {
        "code": 200,
        "msg": "成功",
        "taskNo": "448290834186092138576138",
        "charge": False,
        "data": {
            "img": JUMDATA_IMAGE,
            "imgUrls": [{"image": JUMDATA_IMAGE}],
            "createTime": "2023-09-21 22:15:41",
            "status": 1,
        },
    }


def jumdata_error(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "msg": message, "taskNo": "255033697205413852131601", "charge": False}
