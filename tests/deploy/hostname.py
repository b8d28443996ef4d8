"""``[core] hostname_callable`` of the deployment: each component reports its own name as hostname.

All components share one machine, so the real hostname cannot tell them apart; with this, the
``job`` table names each triggerer and ``task_instance.hostname`` names the worker that ran a try.
"""

from __future__ import annotations

import os
import socket

COMPONENT_VARIABLE = "AIGC_DEPLOY_COMPONENT"


def component_hostname() -> str:
    return os.environ.get(COMPONENT_VARIABLE) or socket.getfqdn()
