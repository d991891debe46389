"""Every in-scope question of a shared support set gets the same source on all channels."""

import pytest

from srmkb import KnowledgeBase
from srmkb.evaluation import load_beir

from ..conftest import shared_path

pytestmark = pytest.mark.slow

CHANNELS = ("chat", "email", "voice", "web", "agent")


def test_same_source_and_facts_on_every_channel_and_all_audited(tmp_path, minilm):
    data = load_beir(shared_path("data", "beir", "hint3-sofmattress"))
    kb = KnowledgeBase(tmp_path / "kb", model=minilm)
    kb.upsert(data.corpus)
    before = len(kb.audit.interactions())
    answered = 0
    for question in data.queries.values():
        answers = [kb.answer(question, channel=c) for c in CHANNELS]
        first = answers[0]
        for a in answers[1:]:
            assert (a.answered, a.document_id, a.document_version, a.passage_ids, a.steps) == (
                first.answered,
                first.document_id,
                first.document_version,
                first.passage_ids,
                first.steps,
            ), question
            assert a.confidence == pytest.approx(first.confidence, abs=1e-6)
            assert [c.url for c in a.citations] == [c.url for c in first.citations]
        answered += first.answered
    log = kb.audit.interactions()[before:]
    assert len(log) == len(data.queries) * len(CHANNELS)
    assert sorted({i.channel for i in log}) == sorted(CHANNELS)
    assert sum(1 for i in log if i.answered) == answered * len(CHANNELS)
    assert all(i.document_id for i in log if i.answered)
    assert answered > len(data.queries) / 2
