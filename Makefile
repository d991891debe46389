# Two commands on a fresh machine:  make demo   and   make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
KB     := build/demo-kb
KB_ML  := build/demo-kb-multilingual
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# No torch: the models run on onnxruntime. Only make bench installs torch (the CPU wheel).
# Query translation is optional: Debian's apertium with its French-Spanish and
# English-Spanish pairs, installed here when running as root with apt-get; without it,
# searches run untranslated (benchmarks/results/cross-language-latest.md).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dense,service,report,multilingual]"
	@{ apertium -l 2>/dev/null | grep -q fr-es && apertium -l | grep -q spa-eng; } \
	  || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && { apt-get update -qq \
	  && apt-get install -y -qq apertium apertium-fr-es apertium-eng-spa; } >/dev/null 2>&1; } \
	  || echo "note: apertium not installed; queries will not be translated"
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

# The demo base holds every kind of example source: FAQs (JSON Lines, CSV, an HTML FAQ
# page), help pages and articles, a PDF manual and a CRM case export. Four in five are in
# English, so it gets the English model; the same sources with the multilingual model
# then answer French questions from French and from English sources.
demo: $(VENV)/.installed
	rm -rf $(KB) $(KB_ML)
	$(BIN)/srmkb ingest examples/nimbus examples/crm --kb $(KB)
	$(BIN)/srmkb stats --kb $(KB)
	@for q in "my wifi is really slow in the bedroom" \
	          "the light on the router keeps flashing red" \
	          "how can I get my money back"; do \
	  echo; echo "Q: $$q"; $(BIN)/srmkb search "$$q" --kb $(KB) -k 3 --quiet; done
	@echo; echo "One answer, on chat then on voice; then a question the base cannot answer:"
	$(BIN)/srmkb answer "How do I factory reset my router?" --kb $(KB) --channel chat
	$(BIN)/srmkb answer "How do I factory reset my router?" --kb $(KB) --channel voice
	$(BIN)/srmkb answer "Do you sell televisions?" --kb $(KB) --channel chat
	@echo; echo "Capture: resolved CRM cases either linked to the article that answers them or drafted:"
	$(BIN)/srmkb capture examples/crm/cases.csv --kb $(KB)
	@echo; echo "KPI summary of the questions above:"
	$(BIN)/srmkb report --kb $(KB)
	@echo; echo "French questions, with the multilingual model: from a French FAQ, then from an English page:"
	$(BIN)/srmkb ingest examples/nimbus examples/crm --kb $(KB_ML) --model multilingual
	$(BIN)/srmkb answer "Comment changer le mot de passe de mon Wi-Fi ?" --kb $(KB_ML)
	$(BIN)/srmkb answer "Puis-je être remboursé ?" --kb $(KB_ML) --channel voice
	$(BIN)/srmkb answer "Quels sont les ports à l'arrière du routeur ?" --kb $(KB_ML)

# The browser test needs Debian's chromium and chromium-driver: installed here when
# running as root with apt-get; otherwise that one test skips and says why.
test: $(VENV)/.dev-installed
	@command -v chromedriver >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && { apt-get update -qq && apt-get install -y -qq chromium chromium-driver; } >/dev/null 2>&1; } \
	  || echo "note: chromium/chromedriver not installed; the browser test will skip"
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src connectors tests benchmarks
	$(BIN)/mypy src
	@# connectors/ installs as srmkb.connectors: type-check it in a tree laid out that way
	@T=$$(mktemp -d) && mkdir $$T/srmkb && ln -s $(CURDIR)/src/srmkb/* $$T/srmkb/ \
	  && ln -s $(CURDIR)/connectors $$T/srmkb/connectors \
	  && (cd $$T && $(CURDIR)/$(BIN)/mypy --config-file $(CURDIR)/pyproject.toml \
	      --cache-dir $$T/.cache -p srmkb.connectors); rc=$$?; rm -rf $$T; exit $$rc
	$(BIN)/lint-imports --no-cache

# make bench: every benchmark suite, results under benchmarks/results, then the README
# tables and plots regenerated. make bench QUICK=1: a smoke run on small sets (minutes),
# written to build/bench-quick. Embeddings are cached in ~/.cache/srmkb-bench: the first
# full run embeds ~150k texts (hours on two cores), later runs take under an hour.
# The peers and the torch runtime it compares with (the bench extra) install with torch
# pinned first: torch==2.13.0 is the CPU wheel; any other torch spec pulls CUDA builds.
$(VENV)/.bench-installed: pyproject.toml $(VENV)/.dev-installed
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[bench]" torch==2.13.0
	touch $@

BENCH_ENV := OMP_WAIT_POLICY=PASSIVE HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
QUICK_ENV := $(BENCH_ENV) SRMKB_BENCH_RESULTS=build/bench-quick

bench: $(VENV)/.bench-installed
ifdef QUICK
	$(QUICK_ENV) $(BIN)/python benchmarks/quality.py --sets hint3-sofmattress covidfaq
	$(QUICK_ENV) $(BIN)/python benchmarks/scale.py --sizes 10000 --queries 50 --slow-queries 10
	$(QUICK_ENV) $(BIN)/python benchmarks/profile_hybrid.py --size 10000 --queries 50
	$(QUICK_ENV) $(BIN)/python benchmarks/bm25_speed.py --passages 10000 --queries 50
	$(QUICK_ENV) $(BIN)/python benchmarks/runtime.py --suites speed --runs 2 --queries 50
	$(QUICK_ENV) $(BIN)/python benchmarks/build_speed.py --sizes 10000 --rounds 1
	$(QUICK_ENV) $(BIN)/python benchmarks/dense_precision.py --sizes 10000 --queries 50
	$(QUICK_ENV) $(BIN)/python benchmarks/cluster_scale.py --sizes 10000 --shards 2 --queries 50 --ingest-documents 40
	$(QUICK_ENV) $(BIN)/python benchmarks/report.py
	@echo "quick results in build/bench-quick (not committed)"
else
	$(BENCH_ENV) $(BIN)/python benchmarks/quality.py
	$(BENCH_ENV) $(BIN)/python benchmarks/scale.py
	$(BENCH_ENV) $(BIN)/python benchmarks/profile_hybrid.py
	$(BENCH_ENV) $(BIN)/python benchmarks/bm25_speed.py
	$(BENCH_ENV) $(BIN)/python benchmarks/runtime.py
	$(BENCH_ENV) $(BIN)/python benchmarks/build_speed.py
	$(BENCH_ENV) $(BIN)/python benchmarks/dense_precision.py
	$(BENCH_ENV) $(BIN)/python benchmarks/cluster_scale.py
	$(BENCH_ENV) $(BIN)/python benchmarks/pdf_accuracy.py
	$(BENCH_ENV) $(BIN)/python benchmarks/connectors_speed.py
	$(BENCH_ENV) $(BIN)/python benchmarks/report.py
endif

clean:
	rm -rf build $(VENV)
