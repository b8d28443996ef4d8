"""Downloads: signature and expiry checks, then a PNG (or a video's MP4) streamed piece by piece."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Protocol

from aiohttp import web

from airflow_provider_aigc.simulator.faults import before, fire
from airflow_provider_aigc.simulator.png import PngImage

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from airflow_provider_aigc.simulator.state import SimState


class Body(Protocol):
    """A generated file: its size, its pieces, and a start that never ends (for size caps)."""

    size: int

    def pieces(self) -> Iterator[bytes]: ...

    def endless(self) -> Iterator[bytes]: ...


def origin(request: web.Request) -> str:
    """Scheme and host the client used, so URLs point back at the address it can reach."""
    return f"{request.scheme}://{request.host}"


def expiring_url(request: web.Request, state: SimState, path: str, expires_at: float) -> str:
    """``path?e=<epoch>&s=<hmac>``: the zhipu and jumdata style of signed URL."""
    expires = str(int(expires_at))
    return f"{origin(request)}{path}?e={expires}&s={state.signer.sign(path, expires)}"


def check_expiring(request: web.Request, state: SimState, path: str) -> tuple[bool, float]:
    """Whether an ``expiring_url`` is intact, and when it expires."""
    expires = request.query.get("e", "")
    if expires.isdigit() and state.signer.verify(request.query.get("s", ""), path, expires):
        return True, float(expires)
    return False, 0.0


async def serve_image(
    request: web.Request,
    state: SimState,
    vendor: str,
    job_id: str,
    index: int,
    *,
    signed: bool,
    expires_at: float,
) -> web.StreamResponse:
    """Answer one image URL whose signature check gave ``signed`` and whose expiry is ``expires_at``."""

    def image() -> PngImage | None:
        job = state.jobs.get(vendor, job_id)
        if job is None or index >= len(job.images):
            return None
        width, height = job.images[index]
        return PngImage(width, height, f"{vendor}:{job_id}:{index}".encode(), job.image_bytes)

    return await serve_file(request, state, vendor, image, "image/png", signed=signed, expires_at=expires_at)


async def serve_file(
    request: web.Request,
    state: SimState,
    vendor: str,
    make: Callable[[], Body | None],
    content_type: str,
    *,
    signed: bool,
    expires_at: float,
) -> web.StreamResponse:
    """Answer a signed, expiring file URL with the body ``make`` builds (None: no such file)."""
    early = await before(state, vendor, "download")
    if early is not None:
        return early
    if not signed:
        return web.Response(status=403, text="AccessDenied: signature does not match")
    if state.now() >= expires_at:
        expired = datetime.fromtimestamp(expires_at, timezone.utc).isoformat(timespec="seconds")
        return web.Response(status=403, text=f"AccessDenied: URL expired at {expired}")
    image = make()
    if image is None:
        return web.Response(status=404, text="NoSuchKey")
    response = web.StreamResponse(headers={"Content-Type": content_type})
    if request.method == "HEAD":
        response.content_length = image.size
        await response.prepare(request)
        return response
    stats = state.stats.vendors[vendor]
    stats.downloads += 1
    truncate = fire(state, vendor, "download", "truncate") is not None
    endless = fire(state, vendor, "download", "endless") is not None
    if not endless:
        response.content_length = image.size
    await response.prepare(request)
    budget = image.size // 2 if truncate else None
    try:
        for piece in image.endless() if endless else image.pieces():
            if budget is not None:
                piece = piece[:budget]
                budget -= len(piece)
            await response.write(piece)
            stats.download_bytes += len(piece)
            if budget == 0:
                _abort(request)
                return response
    except ConnectionError:  # the client went away mid-body (expected with ``endless``)
        return response
    await response.write_eof()
    return response


def _abort(request: web.Request) -> None:
    """Drop the connection mid-body, as a failing proxy would."""
    if request.transport is not None:
        request.transport.close()
