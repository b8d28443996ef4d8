"""The vendors this provider serves: one line per vendor, the one place that lists them."""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from airflow_provider_aigc.exceptions import AigcInvalidRequestError
from airflow_provider_aigc.vendors import baidu, bigmodel, dashscope, jumdata, zhipu

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_provider_aigc.vendors.spec import VendorSpec

VENDORS: Mapping[str, VendorSpec[Any]] = MappingProxyType(
    {spec.name: spec for spec in (zhipu.SPEC, baidu.SPEC, jumdata.SPEC, bigmodel.SPEC, dashscope.SPEC)}
)


def spec_for(vendor: str) -> VendorSpec[Any]:
    """The spec of ``vendor`` (a ``JobRef.vendor`` value); an unknown name is an invalid request."""
    spec = VENDORS.get(vendor)
    if spec is None:
        raise AigcInvalidRequestError(
            f"unknown vendor {vendor!r}; expected one of {', '.join(sorted(VENDORS))}"
        )
    return spec
