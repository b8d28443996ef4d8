"""The simulated vendors: the one list to extend when the simulator learns a vendor."""

from __future__ import annotations

from airflow_provider_aigc.simulator import baidu, bigmodel, dashscope, jumdata, zhipu

SIM_VENDORS = (zhipu.PROFILE, baidu.PROFILE, jumdata.PROFILE, bigmodel.PROFILE, dashscope.PROFILE)
