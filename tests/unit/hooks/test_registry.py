from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from airflow.sdk import BaseHook

from airflow_provider_aigc.exceptions import AigcInvalidRequestError
from airflow_provider_aigc.hooks import hook_class_for
from airflow_provider_aigc.hooks.baidu import BaiduHook
from airflow_provider_aigc.hooks.jumdata import JumdataHook
from airflow_provider_aigc.hooks.zhipu import ZhipuHook

if TYPE_CHECKING:
    from collections.abc import Callable


@pytest.mark.parametrize(
    ("vendor", "hook"), [("zhipu", ZhipuHook), ("baidu", BaiduHook), ("jumdata", JumdataHook)]
)
def test_hook_class_for_each_vendor(vendor: str, hook: type) -> None:
    assert hook_class_for(vendor) is hook
    assert hook_class_for(vendor)().vendor == vendor


def test_unknown_vendor_names_the_known_ones() -> None:
    with pytest.raises(
        AigcInvalidRequestError,
        match="unknown vendor 'openai'; expected one of baidu, dashscope, jumdata, zhipu",
    ):
        hook_class_for("openai")


def test_airflow_builds_the_hook_from_a_connection(connection: Callable[..., str]) -> None:
    conn_id = connection("my_baidu", "aigc_baidu", login="ak", password="sk")
    hook = BaseHook.get_hook(conn_id)
    assert isinstance(hook, BaiduHook)
    assert hook.conn_id == "my_baidu"
