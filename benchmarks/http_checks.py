"""Response check for the HTTP provider's ``HttpEventTrigger`` (it imports this by dotted path).

Kept tiny: ``HttpEventTrigger`` reloads the module on every poll.
"""

from __future__ import annotations

from typing import Any


async def zhipu_job_done(response: Any) -> bool:
    """True once the Zhipu status body carries outputs (the job finished)."""
    result = response.json().get("result") or {}
    return bool(result.get("output"))
