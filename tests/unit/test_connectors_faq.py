from __future__ import annotations

import json
from pathlib import Path

import pytest

from srmkb import Document, IngestError
from srmkb.connectors import read_paths
from srmkb.connectors.faq import FaqConnector
from srmkb.connectors.html import HtmlConnector

from ..conformance import ConnectorConformance
from ..conftest import ROOT, shared_path

NIMBUS = ROOT / "examples" / "nimbus"

FAQ_JSON = {
    "faqs": [
        {
            "id": "nimbus-app-2fa",
            "question": "How do I turn on two-step sign-in?",
            "answer": "In the Nimbus app open Account, then Security, and turn on Two-step "
            "sign-in. We send a code by text message each time you sign in on a new phone.",
            "category": "account",
            "product": "nimbus-app",
            "updated_at": "2026-04-02",
        },
        {
            "question": "Can I pause the internet for one device?",
            "answer": "Yes: in Devices, choose the device and tap Pause. It stays paused "
            "until you tap Resume or the schedule you set ends.",
            "category": "family",
            "product": "nimbus-app",
            "tags": ["parental", "schedule"],
        },
    ]
}

FAQ_YAML = """\
# Nimbus store FAQ, grouped by category
- category: orders
  product: store
  questions:
    - q: How long does delivery take?
      a: Orders placed before 2 pm ship the same day and arrive in two to four business days.
    - q: Can I cancel an order?
      a: |
        Yes, until it ships. Open Orders in your account and choose Cancel.
        Once shipped, return it instead within 30 days.
- category: billing
  product: store
  visibility: internal
  questions:
    - q: When may an agent waive the restocking fee?
      a: For a device returned unopened within 14 days, or after a delivery mistake of ours.
      updated: 2026-02-01
"""


def _split(items):
    docs = [i for i in items if isinstance(i, Document)]
    errors = [i for i in items if isinstance(i, IngestError)]
    assert len(docs) + len(errors) == len(items)
    return docs, errors


class TestFaqCsvConformance(ConnectorConformance):
    @pytest.fixture
    def connector(self):
        return FaqConnector()

    @pytest.fixture
    def good_file(self, tmp_path):
        return NIMBUS / "faq.csv"


class TestFaqJsonConformance(ConnectorConformance):
    @pytest.fixture
    def connector(self):
        return FaqConnector()

    @pytest.fixture
    def good_file(self, tmp_path):
        path = tmp_path / "app-faq.json"
        path.write_text(json.dumps(FAQ_JSON, indent=2), encoding="utf-8")
        return path


class TestFaqYamlConformance(ConnectorConformance):
    @pytest.fixture
    def connector(self):
        return FaqConnector()

    @pytest.fixture
    def good_file(self, tmp_path):
        path = tmp_path / "store-faq.yaml"
        path.write_text(FAQ_YAML, encoding="utf-8")
        return path


class TestFaqHtmlConformance(ConnectorConformance):
    @pytest.fixture
    def connector(self):
        return FaqConnector()

    @pytest.fixture
    def good_file(self, tmp_path):
        return NIMBUS / "help" / "mesh-faq.html"


def test_csv_with_french_semicolon_columns():
    docs, errors = _split(list(FaqConnector().read(NIMBUS / "faq.csv")))
    assert not errors and len(docs) == 4
    doc = docs[1]
    assert doc.id == "faq-fr-voyant-orange"
    assert doc.title == "Que signifie le voyant orange de mon point Mesh ?"
    assert doc.text.startswith("Le point Mesh capte le routeur")
    assert doc.language == "fr" and doc.updated_at == "2026-03-05"
    assert doc.metadata == {"source_type": "faq", "category": "dépannage", "product": "nimbus-mesh"}


def test_csv_with_odd_column_names_legacy_encoding_and_extra_columns(tmp_path: Path):
    path = tmp_path / "Support FAQ.csv"
    rows = [
        "Q\t ANSWER \tProduct Line\tVisibilité\tLast Updated\tOwner",
        "Où est le numéro de série ?\tSous le routeur, à côté du code QR.\tnimbus-router"
        "\tPublic\t2026-01-02\tana",
        "Escalade niveau 2 ?\tOuvrir un ticket « N2 » avec le journal.\t\tagents\t\t",
    ]
    path.write_bytes("\r\n".join(rows).encode("cp1252"))  # Excel without a BOM
    assert FaqConnector().accepts(path)
    docs, errors = _split(list(FaqConnector().read(path)))
    assert not errors
    assert [d.title for d in docs] == ["Où est le numéro de série ?", "Escalade niveau 2 ?"]
    assert docs[0].text == "Sous le routeur, à côté du code QR."
    assert docs[0].visibility == "public" and docs[1].visibility == "internal"
    assert docs[0].updated_at == "2026-01-02" and docs[1].updated_at is None
    # "Product Line" is no known synonym: kept in metadata under its own name.
    assert docs[0].metadata == {
        "source_type": "faq",
        "Product Line": "nimbus-router",
        "Owner": "ana",
    }
    assert docs[0].id.startswith("Support FAQ-") and docs[0].id != docs[1].id


def test_malformed_csv_rows_are_reported_with_their_line(tmp_path: Path):
    path = tmp_path / "faq.csv"
    path.write_text(
        "question,answer,category\n"
        'How do I reset the router?,"Hold Reset for 10 seconds.\nWait for the blue light.",wifi\n'
        ",An answer without its question,wifi\n"
        "What does the warranty cover?,,billing\n"
        "Can I get a refund?,Yes within 30 days.,billing\n",
        encoding="utf-8",
    )
    docs, errors = _split(list(FaqConnector().read(path)))
    assert [d.title for d in docs] == ["How do I reset the router?", "Can I get a refund?"]
    assert docs[0].text == "Hold Reset for 10 seconds.\nWait for the blue light."
    assert [(e.line, e.path) for e in errors] == [(4, str(path)), (5, str(path))]
    assert "no question" in errors[0].error and "What does the warranty" in errors[1].error


def test_json_and_yaml_errors_name_the_line(tmp_path: Path):
    path = tmp_path / "faq.json"
    path.write_text(
        '[\n  {"question": "Q1?", "answer": "A1."},\n  {"question": "Q2?"},\n'
        '  {"question": "Q3?", "answer": "A3.", "visibility": "secret"},\n  "stray"\n]\n'
    )
    docs, errors = _split(list(FaqConnector().read(path)))
    assert [d.title for d in docs] == ["Q1?"]
    assert [e.line for e in errors] == [3, 4, None]
    assert "no answer" in errors[0].error and "visibility" in errors[1].error
    assert errors[2].error.startswith("entry 4:")
    yml = tmp_path / "faq.yml"
    yml.write_text("- q: First?\n  a: Yes.\n- q: Second?\n  a: ''\n- a: Orphan answer.\n")
    docs, errors = _split(list(FaqConnector().read(yml)))
    assert [d.title for d in docs] == ["First?"] and [e.line for e in errors] == [3, 5]
    broken = tmp_path / "broken.json"
    broken.write_text('{"faqs": [\n {"q": "x", "a": "y"},\n ')
    [error] = list(FaqConnector().read(broken))
    assert isinstance(error, IngestError) and "malformed JSON" in error.error and error.line == 3


def test_yaml_groups_and_category_maps(tmp_path: Path):
    path = tmp_path / "store.yaml"
    path.write_text(FAQ_YAML)
    docs, errors = _split(list(FaqConnector().read(path)))
    assert not errors
    assert [(d.metadata["category"], d.visibility) for d in docs] == [
        ("orders", "public"),
        ("orders", "public"),
        ("billing", "internal"),
    ]
    assert docs[1].text == (
        "Yes, until it ships. Open Orders in your account and choose Cancel.\n"
        "Once shipped, return it instead within 30 days."
    )
    assert docs[2].updated_at == "2026-02-01"  # a YAML date, written back as ISO
    by_key = tmp_path / "by-category.yaml"
    by_key.write_text("Billing:\n  - question: Is VAT included?\n    answer: Yes, in the EU.\n")
    [doc] = list(FaqConnector().read(by_key))
    assert isinstance(doc, Document) and doc.metadata["category"] == "Billing"


def test_ids_are_explicit_or_hashed_and_duplicates_handled(tmp_path: Path):
    path = tmp_path / "faq.json"
    path.write_text(json.dumps(FAQ_JSON))
    first = [d.id for d in FaqConnector().read(path)]
    assert first[0] == "nimbus-app-2fa" and first[1].startswith("faq-")
    other = tmp_path / "sub"
    other.mkdir()
    (other / "faq.json").write_text(json.dumps(FAQ_JSON, indent=4))
    assert [d.id for d in FaqConnector().read(other / "faq.json")] == first  # name, not folder
    dup = tmp_path / "dup.json"
    dup.write_text(json.dumps([
        {"id": "x", "q": "One?", "a": "1"}, {"id": "x", "q": "Two?", "a": "2"},
        {"q": "Same?", "a": "a"}, {"q": "Same?", "a": "b"},
    ]))  # fmt: skip
    docs, errors = _split(list(FaqConnector().read(dup)))
    assert [d.id for d in docs][:1] == ["x"] and "duplicate id 'x'" in errors[0].error
    assert docs[2].id == docs[1].id + "-2"


def test_dt_dd_pairs(tmp_path: Path):
    page = tmp_path / "billing.html"
    page.write_text(
        "<html lang='en-GB'><head><title>Billing questions</title></head><body>"
        "<nav><dl><dt>Menu?</dt><dd>not content</dd></dl></nav>"
        "<h2>Invoices</h2><dl>"
        "<dt id='invoice-copy'>Where do I find my invoices?</dt>"
        "<dd><p>Under Orders, then Invoices.</p><p>Each is a PDF.</p></dd>"
        "<dt><a name='vat'></a>Do prices include VAT?</dt><dd>Yes, in the EU.</dd>"
        "<dt>Change the billing address</dt><dd>Edit it under Account.</dd>"
        "</dl></body></html>"
    )
    assert FaqConnector().accepts(page)
    docs, errors = _split(list(FaqConnector().read(page)))
    assert not errors
    assert [(d.title, d.text, d.url.rsplit("/", 1)[-1]) for d in docs] == [
        ("Where do I find my invoices?", "Under Orders, then Invoices.\nEach is a PDF.",
         "billing.html#invoice-copy"),
        ("Do prices include VAT?", "Yes, in the EU.", "billing.html#vat"),
        ("Change the billing address", "Edit it under Account.", "billing.html"),
    ]  # fmt: skip
    assert all(d.metadata == {"source_type": "faq", "category": "Invoices"} for d in docs)
    assert all(d.language == "en" for d in docs)


def test_details_summary_pairs(tmp_path: Path):
    page = tmp_path / "app.html"
    page.write_text(
        "<!doctype html><html><head><title>Nimbus app FAQ</title>"
        "<link rel=canonical href='https://help.nimbus.example/app/faq'></head><body><main>"
        "<h1>Nimbus app FAQ</h1>"
        "<details id='offline'><summary>Why does the app say my router is offline?</summary>"
        "<p>Your phone and router must both reach the internet.</p><ul><li>Check the light.</li>"
        "<li>Restart the router.</li></ul></details>"
        "<details><summary id='android'>Which Android versions are supported?</summary>"
        "<p>Android 11 and later.</p></details>"
        "</main></body></html>"
    )
    assert FaqConnector().accepts(page)
    docs, errors = _split(list(FaqConnector().read(page)))
    assert not errors
    site = "https://help.nimbus.example/app/faq"
    assert [(d.title, d.url, d.text) for d in docs] == [
        ("Why does the app say my router is offline?", f"{site}#offline",
         "Your phone and router must both reach the internet.\n- Check the light.\n"
         "- Restart the router."),
        ("Which Android versions are supported?", f"{site}#android", "Android 11 and later."),
    ]  # fmt: skip
    assert docs[0].metadata == {"source_type": "faq"}  # the h1 is the page, not a category


def test_question_heading_page_is_claimed_and_read():
    page = NIMBUS / "help" / "mesh-faq.html"
    assert FaqConnector().accepts(page)
    docs, errors = _split(list(FaqConnector().read(page)))
    assert not errors and len(docs) == 5
    orange = docs[3]
    assert orange.title == "Why is my mesh point light orange?"
    assert orange.url == "https://help.nimbus.example/mesh/faq#orange-light"
    assert orange.metadata == {"source_type": "faq", "category": "Lights and problems"}
    assert orange.text.endswith(
        "- solid blue: good connection;\n- orange: weak signal, move the point closer;\n"
        "- blinking red: no connection to the router."
    )
    assert not any("cookies" in d.text or "Nimbus Plus" in d.text for d in docs)


def test_debian_faq_chapters_are_left_to_the_html_connector(tmp_path: Path):
    folder = shared_path("data", "docs", "debian-faq")
    pages = sorted(folder.glob("*/*.html"))
    assert len(pages) >= 30
    assert not [p.name for p in pages if FaqConnector().accepts(p)]
    # The chapter's own questions and answers, without the manual's section numbers and
    # chrome, make a FAQ page.
    chapter = next(d for d in HtmlConnector().read(folder / "en" / "basic-defs.en.html"))
    assert isinstance(chapter, Document)
    body = "".join(
        f"<h2>{s.heading[-1].split('. ', 1)[1]}</h2><p>{s.text}</p>" for s in chapter.sections
    )
    page = tmp_path / "debian-faq.html"
    page.write_text(f"<html><head><title>Debian</title></head><body>{body}</body></html>")
    assert FaqConnector().accepts(page)
    docs, _ = _split(list(FaqConnector().read(page)))
    assert "What is Debian GNU/Linux?" in [d.title for d in docs]


def test_dispatch_tries_faq_before_html(tmp_path: Path):
    page = tmp_path / "faq-page.html"
    page.write_text(
        "<html><head><title>Help</title></head><body>"
        + "".join(f"<h2>Question {n}: how do I do thing {n}?</h2><p>{n}.</p>" for n in range(3))
        + "<h2>Contact</h2><p>Call us.</p></body></html>"
    )
    manual = tmp_path / "manual.html"
    manual.write_text(
        "<html><head><title>Manual</title></head><body>"
        + "".join(f"<h2>1.{n}. How do I do thing {n}?</h2><p>Like {n}.</p>" for n in range(3))
        + "</body></html>"
    )
    not_faq = tmp_path / "docs.json"
    not_faq.write_text(json.dumps([{"id": "a", "title": "Router", "text": "A router."}]))
    config = tmp_path / "settings.json"
    config.write_text(json.dumps({"theme": "dark", "items": [1, 2]}))
    faq = FaqConnector()
    assert faq.accepts(page) and not faq.accepts(manual)
    assert not faq.accepts(not_faq) and not faq.accepts(config)
    assert not faq.accepts(tmp_path / "missing.json") and not faq.accepts(NIMBUS / "faq.jsonl")
    items = list(read_paths([tmp_path], [faq, HtmlConnector()]))
    docs = [i for i in items if isinstance(i, Document)]
    by_source: dict[str, list[object]] = {}
    for doc in docs:
        by_source.setdefault(Path(doc.source).name, []).append(doc.metadata["source_type"])
    assert by_source == {"faq-page.html": ["faq"] * 4, "manual.html": ["html"]}
    contact = next(d for d in docs if d.title == "Contact")  # a heading at the question level
    assert contact.text == "Call us."


def test_read_of_a_page_that_is_no_faq_is_an_error():
    page = NIMBUS / "help" / "router-ports.html"
    [error] = list(FaqConnector().read(page))
    assert isinstance(error, IngestError) and "not a FAQ page" in error.error
