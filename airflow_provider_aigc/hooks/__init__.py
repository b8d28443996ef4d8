"""Airflow hooks: transport and credentials over the sans-IO ``vendors/`` protocols.

Import-light on purpose: ``hook_class_for`` imports a vendor's hook module only when asked.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from airflow_provider_aigc.vendors.registry import spec_for

if TYPE_CHECKING:
    from airflow_provider_aigc.hooks.base import AigcHook


def hook_class_for(vendor: str) -> type[AigcHook[Any]]:
    """The hook class serving ``vendor`` (a ``JobRef.vendor`` value), as its spec names it."""
    module_name, class_name = spec_for(vendor).hook_class.rsplit(".", 1)
    hook_class: type[AigcHook[Any]] = getattr(importlib.import_module(module_name), class_name)
    return hook_class
