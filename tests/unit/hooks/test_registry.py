from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from airflow.sdk import BaseHook

from airflow_provider_aigc.exceptions import AigcInvalidRequestError
from airflow_provider_aigc.hooks import hook_class_for
from airflow_provider_aigc.hooks.baidu import BaiduHook
from airflow_provider_aigc.hooks.jumdata import JumdataHook
from airflow_provider_aigc.hooks.zhipu import ZhipuHook

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_aigc.hooks.base import AigcHook


@pytest.mark.parametrize(
    ("vendor", "hook"), [("zhipu", ZhipuHook), ("baidu", BaiduHook), ("jumdata", JumdataHook)]
)
def test_hook_class_for_each_vendor(vendor: str, hook: type) -> None:
    assert hook_class_for(vendor) is hook
    assert hook_class_for(vendor)().vendor == vendor


def test_unknown_vendor_names_the_known_ones() -> None:
    with pytest.raises(
        AigcInvalidRequestError,
        match="unknown vendor 'openai'; expected one of baidu, bigmodel, dashscope, jumdata, zhipu",
    ):
        hook_class_for("openai")


def test_airflow_builds_the_hook_from_a_connection(connection: Callable[..., str]) -> None:
    conn_id = connection("my_baidu", "aigc_baidu", login="ak", password="sk")
    hook = BaseHook.get_hook(conn_id)
    assert isinstance(hook, BaiduHook)
    assert hook.conn_id == "my_baidu"


@pytest.mark.parametrize(
    ("hook_class", "conn_type", "extra", "expected"),
    [
        (BaiduHook, "aigc_baidu", {}, 2),  # Baidu's documented default concurrency
        (BaiduHook, "aigc_baidu", {"max_running_jobs": 5}, 5),
        (BaiduHook, "aigc_baidu", {"max_running_jobs": 0}, None),  # no limit known
        (JumdataHook, "aigc_jumdata", {}, None),  # undocumented
    ],
)
def test_max_running_jobs_is_the_extra_else_the_vendor_default(
    connection: Callable[..., str],
    hook_class: type[AigcHook[Any]],
    conn_type: str,
    extra: dict[str, Any],
    expected: int | None,
) -> None:
    conn_id = connection(
        "c_limit", conn_type, host="http://127.0.0.1:9", login="a", password="b", extra=extra
    )
    assert hook_class(conn_id=conn_id).max_running_jobs() == expected
