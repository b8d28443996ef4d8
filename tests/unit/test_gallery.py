"""The demo's HTML gallery: escaping of prompts and texts, and where images are loaded from."""

from __future__ import annotations

import base64
import hashlib
import sys
from html.parser import HTMLParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from demo_archive import ArchivedFile, ArchivedJob
from demo_gallery import data_uri_source, relative_source, render_gallery

HOSTILE_PROMPT = '<script>alert("x")</script> & "quotes" 山水'
PNG = b"\x89PNG\r\n\x1a\n fake image bytes"
ARTICLE = "<b>标题</b>\n正文：新闻内容。"


class PageParser(HTMLParser):
    """Collects what a browser would see: elements, image attributes, and text per element."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.images: list[dict[str, str | None]] = []
        self.media: dict[str, list[dict[str, str | None]]] = {}
        self.text: dict[str, list[str]] = {}
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag in ("video", "source"):
            self.media.setdefault(tag, []).append(dict(attrs))
        if tag == "img":
            self.images.append(dict(attrs))
        else:
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._open:
            self.text.setdefault(self._open[-1], []).append(data)


def archived(key: str, body: bytes, content_type: str, kind: str, index: int = 0) -> ArchivedFile:
    return ArchivedFile(
        key=key,
        size=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
        content_type=content_type,
        kind=kind,
        index=index,
        stored_content_type=content_type,
        body=body,
    )


def image_job(prompt: str = HOSTILE_PROMPT) -> ArchivedJob:
    directory = "cogview/2026-11-21/zhipu/cogview/0123abcd"
    return ArchivedJob(
        bucket="aigc-archive",
        manifest_key=f"{directory}/manifest.json",
        manifest={"vendor": "zhipu", "app": "cogview", "job_id": "0123abcd", "prompt": prompt},
        files=(
            archived(f"{directory}/0.png", PNG, "image/png", "image", 0),
            archived(f'{directory}/1 "odd".png', PNG + b"1", "image/png", "image", 1),
        ),
    )


def news_job() -> ArchivedJob:
    directory = "news/2026-11-21/zhipu/news_generate/4567"
    return ArchivedJob(
        bucket="aigc-archive",
        manifest_key=f"{directory}/manifest.json",
        manifest={"vendor": "zhipu", "app": "news_generate", "job_id": "4567", "prompt": "农业"},
        files=(archived(f"{directory}/0.txt", ARTICLE.encode(), "text/plain; charset=utf-8", "text"),),
    )


def parse(page: str) -> PageParser:
    parser = PageParser()
    parser.feed(page)
    parser.close()
    return parser


def test_each_job_shows_what_it_was_billed_and_the_page_the_total() -> None:
    baidu = ArchivedJob(
        bucket="aigc-archive",
        manifest_key="e/baidu/txt2imgv2/1/manifest.json",
        manifest={
            "vendor": "baidu",
            "app": "txt2imgv2",
            "job_id": "1",
            "prompt": "睡莲",
            "billed_units": 3,
            "billed_unit": "image",
            "billing_basis": '<"只有 SUCCESS 为成功状态,进行计费">',
        },
        files=(),
    )
    zhipu = ArchivedJob(
        bucket="aigc-archive",
        manifest_key="n/zhipu/news_generate/2/manifest.json",
        manifest={
            "vendor": "zhipu",
            "app": "news_generate",
            "job_id": "2",
            "prompt": "农业",
            "billed_units": 1,
            "billed_unit": "job",
        },
        files=(),
    )
    page = render_gallery("Demo", [baidu, zhipu, news_job()], relative_source)
    parsed = parse(page)
    assert [text.strip() for text in parsed.text["div"] if text.strip().startswith("Billed")] == [
        "Billed in total for 3 job(s): 3 image(s), 1 job(s), 1 job(s) not recorded"
    ]
    billed = [text.strip() for text in parsed.text["p"] if text.strip().startswith("Billed")]
    assert billed == [
        "Billed: 3 image(s)",
        "Billed: 1 job(s)",
        "Billed: not recorded (archived before billing was recorded)",
    ]
    assert 'title="&lt;&quot;只有 SUCCESS 为成功状态,进行计费&quot;&gt;"' in page


def test_hostile_prompt_is_shown_as_text_not_markup() -> None:
    page = parse(render_gallery("demo", [image_job()], relative_source))
    assert "script" not in page.tags
    assert "".join(page.text["p"][:1]) == HOSTILE_PROMPT
    assert {image["alt"] for image in page.images} == {HOSTILE_PROMPT}


def test_title_is_escaped() -> None:
    page = parse(render_gallery("<i>demo</i>", [], relative_source))
    assert "i" not in page.tags
    assert page.text["title"] == ["<i>demo</i>"]


def test_generated_text_is_shown_verbatim() -> None:
    page = parse(render_gallery("demo", [news_job()], relative_source))
    assert "b" not in page.tags
    assert "".join(page.text["pre"]) == ARTICLE
    assert page.images == []


def test_relative_sources_point_beside_the_manifest() -> None:
    page = parse(render_gallery("demo", [image_job("山水")], relative_source))
    assert [image["src"] for image in page.images] == ["0.png", "1%20%22odd%22.png"]


def test_data_uri_sources_inline_the_bytes() -> None:
    job = image_job("山水")
    page = parse(render_gallery("demo", [job], data_uri_source))
    sources = [str(image["src"]) for image in page.images]
    assert all(source.startswith("data:image/png;base64,") for source in sources)
    assert [base64.b64decode(source.split(",", 1)[1]) for source in sources] == [
        item.body for item in job.files
    ]


def test_one_section_per_job_in_order() -> None:
    page = parse(render_gallery("demo", [news_job(), image_job("山水")], relative_source))
    assert page.tags.count("section") == 2
    assert page.text["h2"] == ["zhipu / news_generate / 4567", "zhipu / cogview / 0123abcd"]


def test_a_video_plays_with_its_cover_as_the_poster() -> None:
    directory = "v/bigmodel/cogvideox/task-1"
    mp4 = b"\x00\x00\x00\x18ftypisom fake video"
    job = ArchivedJob(
        bucket="aigc-archive",
        manifest_key=f"{directory}/manifest.json",
        manifest={"vendor": "bigmodel", "app": "cogvideox", "job_id": "task-1", "prompt": HOSTILE_PROMPT},
        files=(
            archived(f"{directory}/0.mp4", mp4, "video/mp4", "video", 0),
            archived(f"{directory}/1.png", PNG, "image/png", "cover", 1),
        ),
    )
    page = parse(render_gallery("demo", [job], relative_source))
    assert page.media["video"] == [
        {"controls": None, "preload": "metadata", "poster": "1.png", "title": HOSTILE_PROMPT}
    ]
    assert page.media["source"] == [{"src": "0.mp4", "type": "video/mp4"}]
    assert page.images == []
    inlined = parse(render_gallery("demo", [job], data_uri_source)).media
    assert base64.b64decode(str(inlined["source"][0]["src"]).split(",", 1)[1]) == mp4
    assert str(inlined["video"][0]["poster"]).startswith("data:image/png;base64,")
