"""The visibility-flip race: a writer turns a document public, then internal, then public
again while customers search and ask; no customer ever sees the internal version.

Everything a search or answer returns must come from the version that ranked it: the
internal version reuses the public one's passage ids (``plan#0``), so reading records by
id after ranking on an older snapshot leaked it (hundreds of times a minute).
Runs ``SRMKB_RACE_SECONDS`` (default 30) with a writer and readers in one process,
readers on the writer's own object and on a second object of the same base; then half as
long on a base of three shards (issue #23), where a search pins one version of every
shard and reads its records from those.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from srmkb import Document, KnowledgeBase

SECONDS = float(os.environ.get("SRMKB_RACE_SECONDS", "30"))
SECRET = "zanzibarsecret"

PUBLIC = Document(
    id="plan",
    title="Standard plan price",
    text="The standard plan costs ten euros a month. Change plans in the app.",
)
INTERNAL = Document(
    id="plan",
    title=f"Standard plan {SECRET} escalation",
    text=f"The standard plan {SECRET}: offer twenty percent off before a customer cancels.",
    visibility="internal",
)
OTHERS = [
    Document(id="wifi", title="Wi-Fi password", text="Open the app and pick Wi-Fi settings."),
    Document(id="bill", title="Your bill", text="The bill for your plan arrives each month."),
]


@pytest.mark.parametrize(
    ("shards", "seconds"), [(None, SECONDS), (3, SECONDS / 2)], ids=["one-base", "sharded"]
)
def test_a_document_flipped_to_internal_never_reaches_a_customer(
    tmp_path: Path, shards: int | None, seconds: float
) -> None:
    path = tmp_path / "kb"
    writer = KnowledgeBase(path, model="hashing", shards=shards)
    writer.upsert([PUBLIC, *OTHERS])
    other = KnowledgeBase(path)  # another reader object: sees commits through the catalog
    stop = threading.Event()
    leaks: list[str] = []
    errors: list[BaseException] = []
    counts = {"reads": 0, "flips": 0}

    def write() -> None:
        try:
            while not stop.is_set():
                writer.upsert([INTERNAL])
                writer.upsert([PUBLIC])
                counts["flips"] += 2
                if counts["flips"] % 40 == 0:
                    writer.optimize()  # merges move passages: readers must cope
        except BaseException as exc:
            errors.append(exc)

    def read(kb: KnowledgeBase) -> None:
        try:
            while not stop.is_set():
                for out in (
                    [h.to_json() for h in kb.search("standard plan price", log=False)],
                    [h.to_json() for h in kb.search(SECRET, mode="bm25", log=False)],
                    kb.answer("How much is the standard plan?", log=False).to_json(),
                ):
                    text = json.dumps(out, ensure_ascii=False)
                    if SECRET in text:
                        leaks.append(text)
                counts["reads"] += 3
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write)]
    threads += [threading.Thread(target=read, args=(kb,)) for kb in (writer, other, other)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(timeout=120)
    writer.close()
    other.close()
    assert not errors, errors[0]
    assert counts["flips"] > 10 and counts["reads"] > 100, counts
    assert not leaks, f"{len(leaks)} of {counts['reads']} customer reads leaked: {leaks[0]}"
