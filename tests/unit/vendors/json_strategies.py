"""Hypothesis strategies for vendor parsers: arbitrary JSON and documented payloads with mutations."""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

from airflow_provider_aigc.vendors.base import HttpResponse

if TYPE_CHECKING:
    from collections.abc import Iterator

# Values a vendor body plausibly holds, so mutations hit the parsers' branches, not only type checks.
_PLAUSIBLE = st.sampled_from(["", " ", "0", "1", "200", "37%", "wait", "failed", "finish", 0, 1, 200, [], {}])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12) | _PLAUSIBLE,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=16,
)


def _slots(node: Any) -> Iterator[tuple[Any, Any]]:
    """Every (container, key-or-index) inside a JSON document."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in list(items):
        yield node, key
        yield from _slots(child)


# Replacements for the exhaustive single-field sweep: one value of every JSON type, blank and odd.
REPLACEMENTS: tuple[Any, ...] = (
    None,
    True,
    0,
    1,
    -1,
    2.5,
    "",
    " ",
    "x",
    "1",
    "37%",
    [],
    [1],
    ["x"],
    {},
    {"a": 1},
)
_DELETE = object()


def single_mutations(document: dict[str, Any]) -> Iterator[Any]:
    """Every copy of ``document`` with exactly one field deleted or set to one of ``REPLACEMENTS``."""
    for index in range(len(list(_slots(document)))):
        for replacement in (_DELETE, *REPLACEMENTS):
            doc = copy.deepcopy(document)
            container, key = list(_slots(doc))[index]
            if replacement is _DELETE:
                del container[key]
            else:
                container[key] = copy.deepcopy(replacement)
            yield doc


@st.composite
def mutated(draw: st.DrawFn, document: dict[str, Any]) -> Any:
    """A documented payload with one to three fields replaced by arbitrary JSON or deleted."""
    doc = copy.deepcopy(document)
    for _ in range(draw(st.sampled_from([1, 1, 2, 3]))):
        slots = list(_slots(doc))
        if not slots:
            break
        container, key = draw(st.sampled_from(slots))
        if draw(st.booleans()):
            container[key] = draw(json_values)
        else:
            del container[key]
    return doc


def responses(bodies: st.SearchStrategy[Any]) -> st.SearchStrategy[HttpResponse]:
    """HTTP answers carrying the given JSON bodies (sometimes raw bytes), mostly with status 200."""
    json_bodies = bodies.map(lambda body: json.dumps(body, ensure_ascii=False).encode())
    return st.builds(
        HttpResponse,
        status=st.sampled_from([200] * 6 + [400, 401, 404, 429, 500, 503]),
        body=st.one_of(json_bodies, json_bodies, json_bodies, st.binary(max_size=40)),
        headers=st.just({}) | st.dictionaries(st.just("retry-after"), st.text(max_size=6)),
    )


def documented_responses(documents: list[dict[str, Any]]) -> st.SearchStrategy[HttpResponse]:
    """``responses`` whose bodies are mostly mutated documented payloads, sometimes arbitrary JSON."""
    documented = st.sampled_from(documents).flatmap(mutated)
    return responses(st.one_of(documented, documented, documented, json_values))
