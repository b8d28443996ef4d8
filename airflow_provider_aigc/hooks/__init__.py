"""Airflow hooks: transport and credentials over the sans-IO ``vendors/`` protocols.

Import-light on purpose: ``hook_class_for`` imports a vendor's hook module only when asked.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from airflow_provider_aigc.exceptions import AigcInvalidRequestError

if TYPE_CHECKING:
    from airflow_provider_aigc.hooks.base import AigcHook

HOOK_CLASSES: dict[str, str] = {
    "zhipu": "airflow_provider_aigc.hooks.zhipu.ZhipuHook",
    "baidu": "airflow_provider_aigc.hooks.baidu.BaiduHook",
    "jumdata": "airflow_provider_aigc.hooks.jumdata.JumdataHook",
}


def hook_class_for(vendor: str) -> type[AigcHook[Any]]:
    """The hook class serving ``vendor`` (a ``JobRef.vendor`` value)."""
    path = HOOK_CLASSES.get(vendor)
    if path is None:
        raise AigcInvalidRequestError(
            f"unknown vendor {vendor!r}; expected one of {', '.join(sorted(HOOK_CLASSES))}"
        )
    module_name, class_name = path.rsplit(".", 1)
    hook_class: type[AigcHook[Any]] = getattr(importlib.import_module(module_name), class_name)
    return hook_class
