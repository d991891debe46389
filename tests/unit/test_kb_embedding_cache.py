"""A base embeds each passage text once: an edited document re-embeds only what changed."""

from srmkb import Document, KnowledgeBase

PARAGRAPH = " ".join(f"word{i}" for i in range(60))  # one passage per paragraph


def test_edit_reembeds_only_changed_passages(tmp_path):
    kb = KnowledgeBase(tmp_path / "kb", model="hashing")
    body = [f"{PARAGRAPH} part{n}" for n in range(3)]
    kb.upsert([Document(id="manual", title="Manual", text="\n\n".join(body))])
    cache = kb.embedder
    first = cache.misses
    assert first == 3 and (tmp_path / "kb" / "embeddings.sqlite").exists()
    body[1] += " edited"
    kb.upsert([Document(id="manual", title="Manual", text="\n\n".join(body))])
    assert cache.misses == first + 1 and cache.hits >= 2
    # Another object on the same base finds the vectors on disk.
    again = KnowledgeBase(tmp_path / "kb")
    again.upsert([Document(id="copy", title="Manual", text="\n\n".join(body))])
    assert again.embedder.misses == 0
