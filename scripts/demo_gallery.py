"""Render verified archives as one static HTML page.

Prompts and generated texts come from users and vendors, so every value is HTML-escaped. Where the
images and videos come from is the caller's choice: keys relative to the page in S3, data URIs in a
local file. A video plays in a ``<video>`` element whose poster is its cover (the output right after
it, the layout video outputs use).
"""

from __future__ import annotations

import base64
import posixpath
from collections.abc import Callable, Sequence
from html import escape
from urllib.parse import quote

from demo_archive import ArchivedFile, ArchivedJob

ImageSource = Callable[[ArchivedJob, ArchivedFile], str]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; background: #fafafa; color: #222; }
section { background: #fff; border: 1px solid #ddd; border-radius: 8px; padding: 1rem 1.5rem;
          margin-bottom: 1.5rem; }
h2 { font-size: 1.1rem; margin: 0 0 .5rem; }
.prompt { font-size: 1.05rem; }
.meta { color: #666; font-size: .85rem; }
.billed { font-size: .9rem; }
.images { display: flex; flex-wrap: wrap; gap: 1rem; }
figure { margin: 0; }
img, video { width: 256px; height: auto; border: 1px solid #ccc; }
figcaption { font-size: .8rem; color: #555; }
pre { white-space: pre-wrap; background: #f4f4f4; padding: 1rem; }
""".strip()


def relative_source(job: ArchivedJob, item: ArchivedFile) -> str:
    """The object's key relative to the page, for an `index.html` stored beside the manifest."""
    return quote(posixpath.relpath(item.key, job.directory))


def data_uri_source(job: ArchivedJob, item: ArchivedFile) -> str:
    """The image or video inlined, so a local page needs no other file."""
    return f"data:{item.content_type};base64,{base64.b64encode(item.body).decode('ascii')}"


def render_gallery(title: str, jobs: Sequence[ArchivedJob], image_source: ImageSource) -> str:
    """A complete HTML document: one section per job with its prompt, images and texts."""
    sections = "\n".join(_render_job(job, image_source) for job in jobs)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>\n{_STYLE}\n</style>\n</head>\n<body>\n"
        f"<h1>{escape(title)}</h1>\n"
        f'<div class="billed total">{escape(total_billed(jobs))}</div>\n{sections}\n</body>\n</html>\n'
    )


def billed(job: ArchivedJob) -> str:
    """What the vendor billed for the job, as its manifest records it (docs/billing.md)."""
    units, unit = job.manifest.get("billed_units"), job.manifest.get("billed_unit")
    if not isinstance(units, int) or not isinstance(unit, str):
        return "Billed: not recorded (archived before billing was recorded)"
    return f"Billed: {units} {unit}(s)"


def total_billed(jobs: Sequence[ArchivedJob]) -> str:
    """The billed units of every job on the page, per unit ("image", "job")."""
    totals: dict[str, int] = {}
    unknown = 0
    for job in jobs:
        units, unit = job.manifest.get("billed_units"), job.manifest.get("billed_unit")
        if isinstance(units, int) and isinstance(unit, str):
            totals[unit] = totals.get(unit, 0) + units
        else:
            unknown += 1
    parts = [f"{count} {unit}(s)" for unit, count in sorted(totals.items())]
    if unknown:
        parts.append(f"{unknown} job(s) not recorded")
    return f"Billed in total for {len(jobs)} job(s): " + (", ".join(parts) or "nothing")


def _render_job(job: ArchivedJob, image_source: ImageSource) -> str:
    images = [_render_image(job, item, image_source) for item in job.files if item.kind == "image"]
    covers = {item.index: item for item in job.files if item.kind == "cover"}
    videos = [
        _render_video(job, item, covers.get(item.index + 1), image_source)
        for item in job.files
        if item.kind == "video"
    ]
    texts = [
        f"<pre>{escape(item.body.decode('utf-8', errors='replace'))}</pre>"
        for item in job.files
        if item.kind == "text"
    ]
    archived_at = job.manifest.get("archived_at")
    meta = f"s3://{job.bucket}/{job.manifest_key}" + (f" · archived {archived_at}" if archived_at else "")
    parts = [
        "<section>",
        f"<h2>{escape(job.title)}</h2>",
        f'<p class="prompt">{escape(job.prompt)}</p>',
        f'<p class="meta">{escape(meta)}</p>',
        f'<p class="billed" title="{escape(str(job.manifest.get("billing_basis") or ""))}">'
        f"{escape(billed(job))}</p>",
    ]
    if images or videos:
        parts.append('<div class="images">\n' + "\n".join([*videos, *images]) + "\n</div>")
    parts.extend(texts)
    parts.append("</section>")
    return "\n".join(parts)


def _render_image(job: ArchivedJob, item: ArchivedFile, image_source: ImageSource) -> str:
    caption = f"{item.name} · {item.size:,} bytes · sha256 {item.sha256[:12]}…"
    return (
        f'<figure><img src="{escape(image_source(job, item))}" alt="{escape(job.prompt)}" loading="lazy">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def _render_video(
    job: ArchivedJob, item: ArchivedFile, cover: ArchivedFile | None, source: ImageSource
) -> str:
    """A playable ``<video>`` with its cover as the poster (shown before it plays)."""
    caption = f"{item.name} · {item.size:,} bytes · sha256 {item.sha256[:12]}…"
    poster = f' poster="{escape(source(job, cover))}"' if cover is not None else ""
    return (
        f'<figure><video controls preload="metadata"{poster} title="{escape(job.prompt)}">'
        f'<source src="{escape(source(job, item))}" type="{escape(item.content_type)}"></video>'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )
