"""Documented vendor payloads (from the seeds and docs/INTERFACES.md) and hypothesis strategies that
mutate them: field-level (delete, replace with any JSON, insert), byte-level (cut, flip, splice) and
whole-body (arbitrary JSON, arbitrary bytes, deep nesting), under any HTTP status and headers."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import strategies as st

from airflow_provider_aigc.vendors.base import HttpResponse
from tests.unit.vendors import test_jumdata as jumdata_examples
from tests.unit.vendors import test_zhipu as zhipu_examples
from tests.unit.vendors.test_zhipu import with_result

BCE_URL = (
    "http://aigc-t2p.bj.bcebos.com/artist-long/30169514_0_final.png?authorization=bce-auth-v1%2F"
    "174bf5e9a7a84f55a8e85b1cc5d62b1d%2F2023-07-06T02%3A46%3A53Z%2F1800%2Fhost%2F"
    "b541efeed7bac9a87cb3fd0761cfac6e9ea7edd1fbe46b8e773e09126abd0271"
)

# The documents' own examples are the unit tests' (tests/unit/vendors/test_*.py, DOCUMENTED); added
# here are variants and states the documents show no example of.
ZHIPU_WAITING: dict[str, Any] = with_result(zhipu_examples.COGVIEW_WAITING_PDF, progress={"value": "37%"})
ZHIPU_COGVIEW_DONE: dict[str, Any] = with_result(zhipu_examples.COGVIEW_DONE, status="finish")
ZHIPU_FAILED: dict[str, Any] = {
    "message": "success",
    "result": {"status": "failed", "error": "model crashed", "task_id": "f037fb6ebb645ef8"},
    "status": 0,
}
ZHIPU_ERROR: dict[str, Any] = {"status": 10003, "message": "too many requests", "result": {}}
ZHIPU_NOT_FOUND: dict[str, Any] = {"status": 404, "message": "task not found"}
ZHIPU_DOCUMENTS = [
    *zhipu_examples.DOCUMENTED,
    ZHIPU_WAITING,
    ZHIPU_COGVIEW_DONE,
    ZHIPU_FAILED,
    ZHIPU_ERROR,
    ZHIPU_NOT_FOUND,
]

BAIDU_TOKEN: dict[str, Any] = {
    "access_token": "24.6c5e1ff107f0e8bcef8c46d3424a0e78.2592000.1485516651.282335-8574074",
    "expires_in": 2592000,
    "refresh_token": "25.b55fe1d287227ca97aab219bb249b8ab.315360000.1798284651.282335-8574074",
    "scope": "public brain_all_scope",
    "session_key": "9mzdDZXu3dENdFZQurfg0Vz8slgSgvvOAUebNFzyzcpQ5EnbxbF+hfG9DQkpUVQdh4p6HbQcAiz5RmuB",
    "session_secret": "dfac94a3489fe9fca7c3221cbf7525ff",
}
BAIDU_TOKEN_ERROR: dict[str, Any] = {"error": "invalid_client", "error_description": "unknown client id"}
BAIDU_SUBMITTED: dict[str, Any] = {
    "data": {"primary_task_id": 1659384536691865192, "task_id": "1659384536691865192"},
    "log_id": 1583376431827547238,
}
BAIDU_JOB_ID = "1676784719699311143"
_IMAGE = {"height": 1024, "img_approve_conclusion": "pass", "img_url": BCE_URL, "width": 1024}
BAIDU_SUCCESS: dict[str, Any] = {
    "log_id": 1,
    "data": {
        "task_id": int(BAIDU_JOB_ID),
        "task_status": "SUCCESS",
        "task_progress": 1,
        "sub_task_result_list": [
            {
                "final_image_list": [dict(_IMAGE)],
                "sub_task_error_code": 0,
                "sub_task_progress": 1,
                "sub_task_status": "SUCCESS",
            },
            {
                "final_image_list": [{**_IMAGE, "img_approve_conclusion": "block"}],
                "sub_task_error_code": 0,
                "sub_task_progress": 1,
                "sub_task_status": "SUCCESS",
            },
        ],
    },
}
BAIDU_UNWRAPPED_FAILED: dict[str, Any] = {
    "sub_task_result_list": [
        {"sub_task_error_code": 501, "sub_task_progress": 0, "sub_task_status": "FAILED"},
        {"sub_task_error_code": 201, "sub_task_progress": 0, "sub_task_status": "FAILED"},
    ],
    "task_id": int(BAIDU_JOB_ID),
    "task_progress": 1,
    "task_status": "FAILED",
}
BAIDU_RUNNING: dict[str, Any] = {
    "log_id": 2,
    "data": {
        "task_id": BAIDU_JOB_ID,
        "task_status": "RUNNING",
        "task_progress": 0,
        "sub_task_result_list": [
            {
                "final_image_list": [],
                "sub_task_error_code": 0,
                "sub_task_progress": 0,
                "sub_task_status": "RUNNING",
            }
        ],
    },
}
BAIDU_ERROR: dict[str, Any] = {"error_code": 111, "error_msg": "Access token expired", "log_id": 3}
BAIDU_DOCUMENTS = [
    BAIDU_TOKEN,
    BAIDU_TOKEN_ERROR,
    BAIDU_SUBMITTED,
    BAIDU_SUCCESS,
    BAIDU_UNWRAPPED_FAILED,
    BAIDU_RUNNING,
    BAIDU_ERROR,
]

# A finished job with real image URLs (the document's example has placeholders).
JUMDATA_DONE: dict[str, Any] = {
    "code": 200,
    "msg": "成功",
    "taskNo": "448290834186092138576138",
    "charge": False,
    "data": {
        "img": "https://cdn.jumdata.example/a.png",
        "imgUrls": [
            {"image": "https://cdn.jumdata.example/a.png"},
            {"image": "https://cdn.jumdata.example/b.png"},
        ],
        "createTime": "2023-09-21 22:15:41",
        "status": 1,
    },
}
JUMDATA_DOCUMENTS = [*jumdata_examples.DOCUMENTED, JUMDATA_DONE]

# Values vendors plausibly send, so mutations reach the parsers' branches, not only type checks.
_PLAUSIBLE: tuple[Any, ...] = (
    "",
    " ",
    "0",
    "1",
    "200",
    "37%",
    "101%",
    "-5%",
    "wait",
    "failed",
    "finish",
    "SUCCESS",
    "FAILED",
    "RUNNING",
    "INIT",
    "block",
    "review",
    "pass",
    "2023-09-21 22:15:41",
    "Fri, 16 Jul 2021 09:11:31 GMT",
    BCE_URL,
    "file:///etc/passwd",
    "http://169.254.169.254/latest/meta-data/",
    "../../etc/passwd",
    "\x00",
    "\ud800",
    0,
    1,
    -1,
    2,
    200,
    201,
    501,
    10003,
    10004,
    110,
    111,
    17,
    18,
    609,
    2**63,
    -(2**63),
    1e308,
    -0.0,
    float("inf"),
    float("nan"),
    [],
    {},
)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=16),
    st.sampled_from(_PLAUSIBLE),
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def _slots(node: Any) -> list[tuple[Any, Any]]:
    """Every (container, key-or-index) inside a JSON document, depth first."""
    found: list[tuple[Any, Any]] = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in list(items):
        found.append((node, key))
        found.extend(_slots(child))
    return found


_KEYS = st.sampled_from(
    ["status", "result", "output", "data", "code", "error_code", "task_status", "img_url", "taskId", "x"]
)


@st.composite
def mutated(draw: st.DrawFn, document: dict[str, Any]) -> Any:
    """A documented payload with one to four fields deleted, replaced by any JSON, or added."""
    doc = copy.deepcopy(document)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        slots = _slots(doc)
        if not slots:
            break
        container, key = draw(st.sampled_from(slots))
        action = draw(st.sampled_from(["replace", "replace", "delete", "insert", "plausible"]))
        if action == "delete":
            del container[key]
        elif action == "insert":
            target = container[key] if isinstance(container[key], (dict, list)) else container
            if isinstance(target, dict):
                target[draw(_KEYS)] = copy.deepcopy(draw(json_values))
            else:
                target.append(copy.deepcopy(draw(json_values)))
        elif action == "plausible":
            container[key] = copy.deepcopy(draw(st.sampled_from(_PLAUSIBLE)))
        else:
            # Copies: sampled values are shared objects, and later mutations must not change them.
            container[key] = copy.deepcopy(draw(json_values))
    return doc


def _dumps(value: Any) -> bytes:
    """JSON as a vendor might send it: UTF-8, NaN/Infinity allowed, lone surrogates kept as bytes."""
    return json.dumps(value, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")


@st.composite
def byte_mutated(draw: st.DrawFn, raw: bytes) -> bytes:
    """Serialised JSON cut short, with bytes flipped, or with a random slice spliced in."""
    if not raw:
        return raw
    action = draw(st.sampled_from(["cut", "flip", "splice"]))
    position = draw(st.integers(min_value=0, max_value=len(raw) - 1))
    if action == "cut":
        return raw[:position]
    if action == "flip":
        return raw[:position] + bytes([raw[position] ^ draw(st.integers(1, 255))]) + raw[position + 1 :]
    return raw[:position] + draw(st.binary(max_size=12)) + raw[position:]


def deep_nesting(depth: int) -> bytes:
    """A JSON body nested deeper than Python's recursion limit allows to decode."""
    return b'{"status": 0, "result": ' + b"[" * depth + b"]" * depth + b"}"


def bodies(documents: list[dict[str, Any]]) -> st.SearchStrategy[bytes]:
    """Mostly mutated documented bodies; also byte-level damage, arbitrary JSON and arbitrary bytes."""
    documented = st.sampled_from(documents).flatmap(mutated)
    as_json = documented.map(_dumps)
    return st.one_of(
        as_json,
        as_json,
        as_json,
        as_json,
        st.sampled_from(documents).map(_dumps).flatmap(byte_mutated),
        as_json.flatmap(byte_mutated),
        json_values.map(_dumps),
        st.binary(max_size=64),
        st.sampled_from([deep_nesting(5_000), b"", b"null", b"[]", b'"x"', b"NaN", b"1e999"]),
    )


_HEADERS = st.dictionaries(
    st.sampled_from(["retry-after", "content-type", "location"]),
    st.one_of(
        st.text(max_size=12), st.sampled_from(["5", "-1", "1e9", "nan", "Wed, 21 Oct 2015 07:28:00 GMT"])
    ),
    max_size=3,
)


def responses(documents: list[dict[str, Any]]) -> st.SearchStrategy[HttpResponse]:
    """HTTP answers: mostly 200 with a damaged documented body; any status, any headers."""
    statuses = st.one_of(
        st.just(200),
        st.just(200),
        st.just(200),
        st.sampled_from([201, 204, 301, 302, 400, 401, 403, 404, 410, 429, 500, 502, 503, 504]),
        st.integers(min_value=100, max_value=599),
    )
    return st.builds(HttpResponse, status=statuses, body=bodies(documents), headers=_HEADERS)
