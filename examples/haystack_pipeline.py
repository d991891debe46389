"""srmkb in a Haystack pipeline, saved as YAML and loaded back, offline.

    pip install 'srmkb[haystack]' && python examples/haystack_pipeline.py

Builds (once) a base from examples/nimbus in build/examples-kb, then runs a pipeline
whose ``SrmkbRetriever`` feeds a ``PromptBuilder`` (an LLM generator would follow it).
The pipeline serialises the base's path, not the base.
"""

from __future__ import annotations

import os
from pathlib import Path

# Haystack reads this when it is imported: an offline example sends no usage telemetry.
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

import yaml
from haystack import Pipeline
from haystack.components.builders import PromptBuilder

from srmkb import KnowledgeBase
from srmkb.connectors import read_paths
from srmkb.integrations.haystack import SrmkbRetriever

HERE = Path(__file__).resolve().parent
BASE = HERE.parent / "build" / "examples-kb"
with KnowledgeBase(BASE) as kb:
    kb.upsert(read_paths([HERE / "nimbus"]))  # unchanged documents cost nothing on a rerun

TEMPLATE = """Answer the question from these sources and cite them.
{% for doc in documents %}
[{{ loop.index }}] {{ doc.content }} (source: {{ doc.meta.title }}, {{ doc.meta.url }})
{% endfor %}
Question: {{ question }}"""

pipeline = Pipeline()
pipeline.add_component("retriever", SrmkbRetriever(BASE, top_k=2))
pipeline.add_component(
    "prompt", PromptBuilder(TEMPLATE, required_variables=["documents", "question"])
)
pipeline.connect("retriever.documents", "prompt.documents")

question = "the light on my router is blinking red"
inputs = {"retriever": {"query": question}, "prompt": {"question": question}}
print(pipeline.run(inputs)["prompt"]["prompt"])

# Saved and loaded back: the YAML names the base by its path. Haystack loads classes
# only from modules the caller trusts.
saved = pipeline.dumps()
print("\n" + yaml.safe_dump(yaml.safe_load(saved)["components"]["retriever"]))
loaded = Pipeline.loads(saved, allowed_modules=["srmkb.integrations.haystack"])
assert loaded.run(inputs)["prompt"] == pipeline.run(inputs)["prompt"]
print("loaded back: same prompt")
