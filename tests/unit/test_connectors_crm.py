"""CRM case exports: resolved cases only, column mapping, visibility, redaction, bad rows."""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path

import pytest

from srmkb import Document, IngestError, KnowledgeBase
from srmkb.connectors import JsonlConnector, read_paths
from srmkb.connectors.crm import CrmConnector, CrmReadStats
from srmkb.text.chunking import chunk_document

from ..conformance import ConnectorConformance
from ..conftest import ROOT

EXAMPLES = ROOT / "examples" / "crm"
HEADER = ["Case Number", "Subject", "Status", "Product", "Opened", "Closed", "Description",
          "Internal Notes", "Resolution"]  # fmt: skip


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER, **kw: str) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, **kw)  # type: ignore[arg-type]
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def write_jsonl(path: Path, records: list[object]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return path


def read(connector: CrmConnector, path: Path) -> tuple[list[Document], list[IngestError]]:
    items = list(connector.read(path))
    return (
        [i for i in items if isinstance(i, Document)],
        [i for i in items if isinstance(i, IngestError)],
    )


def case(case_id: str, status: str = "Resolved", **fields: str) -> list[str]:
    values = {
        "Subject": "Router light blinking red",
        "Product": "nimbus-router",
        "Opened": "2026-03-02 08:41",
        "Closed": "2026-03-02 10:05",
        "Description": "Red light since the update.",
        "Internal Notes": "Firmware 2.4.13, NIM-2291.",
        "Resolution": "Unplug for 30 seconds, then install 2.4.14.",
    } | fields
    return [
        case_id if h == "Case Number" else status if h == "Status" else values[h] for h in HEADER
    ]


class TestCrmCsvConformance(ConnectorConformance):
    @pytest.fixture
    def connector(self):
        return CrmConnector()

    @pytest.fixture
    def good_file(self, tmp_path):
        return EXAMPLES / "cases.csv"


class TestCrmJsonlConformance(ConnectorConformance):
    @pytest.fixture
    def connector(self):
        return CrmConnector()

    @pytest.fixture
    def good_file(self, tmp_path):
        return EXAMPLES / "cases.jsonl"


# --- the sample exports -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "documents", "skipped"), [("cases.csv", 25, 5), ("cases.jsonl", 21, 5)]
)
def test_examples_read_resolved_cases_only(name: str, documents: int, skipped: int):
    connector = CrmConnector()
    docs, errors = read(connector, EXAMPLES / name)
    assert not errors
    assert len(docs) == documents
    assert connector.skipped == skipped
    [stats] = connector.reads
    assert (stats.rows, stats.documents, stats.skipped) == (documents + skipped, documents, skipped)
    assert "open" in stats.skipped_statuses
    assert {"email", "phone", "card", "iban"} <= set(stats.redacted)
    for doc in docs:
        assert doc.visibility == "internal"
        assert doc.metadata["source_type"] == "crm"
        assert doc.metadata["status"] not in stats.skipped_statuses
        text = json.dumps(doc.to_json(), ensure_ascii=False)
        assert "@" not in text.replace(doc.source, "")


def test_csv_case_becomes_a_document_with_sections_and_metadata(tmp_path: Path):
    f = write_csv(tmp_path / "cases.csv", [case("00104801")])
    [doc], [] = read(CrmConnector(), f)
    assert doc.id == "case-00104801"
    assert doc.title == "Router light blinking red"
    assert doc.source == str(f.resolve())
    assert doc.updated_at == "2026-03-02T10:05:00"
    assert [s.heading for s in doc.sections] == [("Problem",), ("Resolution",), ("Internal notes",)]
    assert doc.sections[0].text == "Red light since the update."
    assert dict(doc.metadata) == {
        "source_type": "crm",
        "case_id": "00104801",
        "status": "resolved",
        "product": "nimbus-router",
        "opened_at": "2026-03-02T08:41:00",
        "closed_at": "2026-03-02T10:05:00",
        "complaint": False,
    }


def test_jsonl_lists_objects_and_numbers(tmp_path: Path):
    f = write_jsonl(
        tmp_path / "tickets.jsonl",
        [
            {
                "ticket_id": 48216,
                "subject": "Mesh point not found",
                "state": "solved",
                "messages": [{"body": "App says no device.", "at": "x"}, "Light blinks blue."],
                "agent_notes": ["BLE permission denied.", {"text": "Android 14."}],
                "solution": "Allow Nearby devices.",
                "created": "2026-03-04T17:20:00Z",
                "resolved_at": "2026-03-04T17:45:00Z",
                "locale": "fr-FR",
                "requester": {"email": "jasmine.patel@gmail.com"},
            }
        ],
    )
    [doc], [] = read(CrmConnector(), f)
    assert doc.id == "case-48216"
    assert doc.sections[0].text == "App says no device.\n\nLight blinks blue."
    assert doc.sections[2].text == "BLE permission denied.\n\nAndroid 14."
    assert doc.updated_at == "2026-03-04T17:45:00+00:00"
    assert doc.language == "fr"
    assert "jasmine" not in json.dumps(doc.to_json())  # unmapped fields are never read


# --- status -------------------------------------------------------------------------


def test_only_resolved_statuses_become_documents_and_the_rest_is_counted(tmp_path: Path):
    statuses = ["Resolved", "CLOSED", "solved", "Résolu", "clôturé", "Closed - Resolved",
                "Open", "Pending", "In Progress", "", "Cancelled", "Open"]  # fmt: skip
    f = write_csv(tmp_path / "c.csv", [case(str(i), s) for i, s in enumerate(statuses)])
    connector = CrmConnector()
    docs, errors = read(connector, f)
    assert not errors
    assert [d.id for d in docs] == [f"case-{i}" for i in range(6)]
    assert connector.skipped == 6
    assert connector.reads[0].skipped_statuses == {
        "open": 2, "pending": 1, "in progress": 1, "(none)": 1, "cancelled": 1,
    }  # fmt: skip
    read(connector, f)
    assert connector.skipped == 12 and len(connector.reads) == 2  # counted per read, summed


def test_resolved_statuses_are_configurable(tmp_path: Path):
    f = write_csv(tmp_path / "c.csv", [case("1", "Archived"), case("2", "Resolved")])
    docs, _ = read(CrmConnector(resolved_statuses=["archived"]), f)
    assert [d.id for d in docs] == ["case-1"]
    everything = CrmConnector(resolved_statuses=None)
    docs, _ = read(everything, f)
    assert len(docs) == 2 and everything.skipped == 0


# --- columns ------------------------------------------------------------------------


def test_column_mapping_names_another_exports_columns(tmp_path: Path):
    header = ["Ticket #", "Headline", "Cust Msg 1", "Cust Msg 2", "Private", "Fix", "Where",
              "Opened On", "Closed On", "Description"]  # fmt: skip
    row = ["T-77", "No internet", "Red light.", "Still red.", "NIM-2291", "Power-cycle.",
           "Done", "14/03/2026 09:12", "15/03/2026", "Not a message: the subject's detail"]  # fmt: skip
    f = write_csv(tmp_path / "export.csv", [row], header)
    mapping = {
        "case_id": "Ticket #",
        "subject": "headline",  # names match without case or punctuation
        "customer_messages": ["Cust Msg 1", "Cust Msg 2"],
        "notes": "Private",
        "resolution": "Fix",
        "status": "Where",
        "opened_at": "Opened On",
        "closed_at": "Closed On",
        "product": "Description",  # an explicit column is no longer a synonym of another
    }
    connector = CrmConnector(mapping=mapping)
    assert connector.accepts(f)
    assert not CrmConnector().accepts(f)
    [doc], [] = read(connector, f)
    assert doc.id == "case-T-77" and doc.title == "No internet"
    assert doc.sections[0].text == "Red light.\n\nStill red."
    assert [s.text for s in doc.sections[1:]] == ["Power-cycle.", "NIM-2291"]
    assert doc.metadata["opened_at"] == "2026-03-14T09:12:00"
    assert doc.metadata["closed_at"] == doc.updated_at == "2026-03-15"
    assert doc.metadata["product"] == "Not a message: the subject's detail"


def test_tolerant_default_column_names(tmp_path: Path):
    header = ["TICKET_ID", "Title", "Customer_Message", "Customer Message 2", "Agent Notes",
              "Solution", "STATE", "created", "resolved_at", "Origin", "Customer Email"]  # fmt: skip
    row = ["42", "Slow Wi-Fi", "Slow upstairs.", "Very slow.", "In a cupboard.", "Add a mesh.",
           "Closed", "2026-03-11", "2026-03-12", "Web", "olivia.chen@hotmail.com"]  # fmt: skip
    f = write_csv(tmp_path / "export.csv", [row], header, delimiter=";")
    f.write_bytes(b"\xef\xbb\xbf" + f.read_bytes())  # Excel's byte-order mark
    assert CrmConnector().accepts(f)
    [doc], [] = read(CrmConnector(), f)
    assert doc.id == "case-42"
    assert [s.text for s in doc.sections] == ["Slow upstairs.\n\nVery slow.", "Add a mesh.",
                                              "In a cupboard."]  # fmt: skip
    assert doc.metadata["channel"] == "Web" and doc.updated_at == "2026-03-12"
    assert "olivia" not in json.dumps(doc.to_json())


def test_unknown_mapping_field_is_a_programming_error():
    with pytest.raises(ValueError, match="ticket"):
        CrmConnector(mapping={"ticket": "Ticket #"})
    with pytest.raises(ValueError, match="url_template"):
        CrmConnector(url_template="https://crm/{case}")


def test_accepts_crm_exports_only(tmp_path: Path):
    connector = CrmConnector()
    assert connector.accepts(EXAMPLES / "cases.csv") and connector.accepts(EXAMPLES / "cases.jsonl")
    assert not connector.accepts(ROOT / "examples" / "nimbus" / "faq.jsonl")
    no_status = write_csv(tmp_path / "faq.csv", [["1", "Q?", "A."]], ["id", "question", "answer"])
    assert not connector.accepts(no_status)
    other = tmp_path / "cases.txt"
    other.write_text((EXAMPLES / "cases.csv").read_text())
    assert not connector.accepts(other)
    assert not connector.accepts(tmp_path / "missing.csv")


def test_read_paths_sends_each_file_to_its_connector():
    faq = ROOT / "examples" / "nimbus" / "faq.jsonl"
    items = list(read_paths([EXAMPLES, faq], connectors=[CrmConnector(), JsonlConnector()]))
    assert not [i for i in items if isinstance(i, IngestError)]
    docs = [i for i in items if isinstance(i, Document)]
    assert [d.source for d in docs].count(str(faq.resolve())) == 12
    assert sum(d.metadata.get("source_type") == "crm" for d in docs) == 46


# --- visibility ---------------------------------------------------------------------


def _passage_visibility(doc: Document) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for p in chunk_document(doc):
        out.setdefault(p.section, set()).add(p.visibility)
    return out


def test_cases_and_notes_are_internal_by_default(tmp_path: Path):
    f = write_csv(tmp_path / "c.csv", [case("1")])
    [doc], _ = read(CrmConnector(), f)
    assert doc.visibility == "internal"
    assert doc.sections[2].visibility == "internal"
    assert _passage_visibility(doc) == {
        "Problem": {"internal"}, "Resolution": {"internal"}, "Internal notes": {"internal"},
    }  # fmt: skip


def test_public_resolutions_publish_the_resolution_only(tmp_path: Path):
    f = write_csv(tmp_path / "c.csv", [case("1"), case("2", Resolution="")])
    public, no_resolution = read(CrmConnector(public_resolutions=True), f)[0]
    assert public.visibility == "public"
    assert _passage_visibility(public) == {
        "Subject": {"internal"}, "Problem": {"internal"}, "Resolution": {"public"},
        "Internal notes": {"internal"},
    }  # fmt: skip
    # The title goes with every passage, the public one too: never the customer's subject,
    # which agents still find in the internal Subject section.
    assert public.title == "Resolution: nimbus-router"
    [subject] = [s for s in public.sections if s.anchor == "subject"]
    assert subject.text == "Router light blinking red"
    for passage in chunk_document(public):
        if passage.visibility == "public":
            assert "blinking" not in passage.indexed_text and "update" not in passage.indexed_text
    assert no_resolution.visibility == "internal"  # nothing to publish: title stays internal
    assert no_resolution.title == "Router light blinking red"
    assert [s.anchor for s in no_resolution.sections] == ["problem", "notes"]


def test_the_neutral_title_says_product_and_category_in_the_case_language(tmp_path: Path):
    f = write_jsonl(
        tmp_path / "c.jsonl",
        [
            {"id": 1, "status": "résolu", "langue": "fr", "produit": "box", "motif": "Facture",
             "objet": "Jean Dupont, 12 rue des Lilas", "solution": "Avoir émis."},
            {"id": 2, "status": "solved", "subject": "Help", "solution": "Restarted."},
        ],
    )  # fmt: skip
    french, bare = read(CrmConnector(public_resolutions=True), f)[0]
    assert french.title == "Résolution : box – Facture"
    assert bare.title == "Resolution of a support case"
    public = [p.indexed_text for p in chunk_document(french) if p.visibility == "public"]
    assert public == ["Résolution : box – Facture — Resolution\nAvoir émis."]


@pytest.mark.parametrize(
    "fields",
    [
        {"Subject": "Formal complaint - technician never came"},
        {"Description": "Je dépose une réclamation, je saisirai le médiateur."},
        {"Internal Notes": "Customer threatens legal action."},
        {"Description": "Je porte PLAINTE."},
    ],
)
def test_complaints_are_internal_even_with_public_resolutions(tmp_path: Path, fields):
    f = write_csv(tmp_path / "c.csv", [case("1", **fields)])
    [doc], _ = read(CrmConnector(public_resolutions=True), f)
    assert doc.visibility == "internal" and doc.metadata["complaint"] is True
    assert _passage_visibility(doc)["Resolution"] == {"internal"}


def test_complaint_category_and_keyword_switch(tmp_path: Path):
    f = write_jsonl(
        tmp_path / "c.jsonl",
        [
            {"id": 1, "status": "solved", "type": "Complaint", "description": "Late delivery."},
            {
                "id": 2,
                "status": "solved",
                "type": "incident",
                "description": "I complain.",
                "resolution": "Fixed.",
            },
        ],
    )
    docs, _ = read(CrmConnector(public_resolutions=True, complaint_keywords=()), f)
    assert [d.metadata["complaint"] for d in docs] == [True, False]
    assert [d.visibility for d in docs] == ["internal", "public"]


def test_a_customer_never_sees_internal_parts(tmp_path: Path):
    connector = CrmConnector(public_resolutions=True)
    kb = KnowledgeBase(tmp_path / "kb", dense=False)
    kb.upsert(d for d in connector.read(EXAMPLES / "cases.csv") if isinstance(d, Document))
    query = "router light blinking red after update complaint technician réclamation coupures"
    customer = kb.search(query, k=50, mode="bm25")
    assert customer and {h.section for h in customer} == {"Resolution"}
    agent = kb.search(query, k=50, mode="bm25", audience="agent")
    assert {"Problem", "Internal notes"} <= {h.section for h in agent}
    complaints = {h.document_id for h in agent if h.metadata["complaint"]}
    assert complaints and not complaints & {h.document_id for h in customer}
    assert not any("complaint" in h.metadata for h in customer)  # case metadata stays internal


# --- redaction ----------------------------------------------------------------------

PERSONAL = {
    "sarah.whitfield@gmail.com": "[EMAIL]",
    "+33 6 12 34 56 78": "[PHONE]",
    "(415) 555-0134": "[PHONE]",
    "06.12.34.56.78": "[PHONE]",
    "4970 2984 4653 7001": "[CARD]",
    "FR76 3000 4000 0312 3456 7890 143": "[IBAN]",
}


def test_personal_data_is_redacted_in_every_field(tmp_path: Path):
    values = list(PERSONAL)
    record = {
        "case_id": "00104810",
        "subject": f"Refund to {values[4]} please",
        "status": f"Resolved {values[0]}",
        "product": f"store {values[1]}",
        "channel": f"phone {values[2]}",
        "category": f"billing {values[3]}",
        "priority": f"high {values[5]}",
        "customer_messages": [f"Mail {values[0]}, tel {values[1]}", f"IBAN {values[5]}"],
        "notes": f"Called {values[2]} and {values[3]}; order NB-2026-004701 on 2026-03-12",
        "resolution": f"Refunded to card {values[4]} (TXN 4471823990120457), firmware 2.4.14",
        "opened_at": "2026-03-12 09:05",
        "closed_at": "2026-03-14",
    }
    f = write_jsonl(tmp_path / "c.jsonl", [record])
    connector = CrmConnector(resolved_statuses=None, url_template="https://crm/{case_id}")
    [doc], [] = read(connector, f)
    text = json.dumps(doc.to_json(), ensure_ascii=False)
    for value in PERSONAL:
        assert value not in text
    assert doc.title == "Refund to [CARD] please"
    assert doc.metadata["product"] == "store [PHONE]"
    assert doc.metadata["channel"] == "phone [PHONE]"
    assert doc.metadata["category"] == "billing [PHONE]"
    assert doc.metadata["priority"] == "high [IBAN]"
    assert doc.metadata["status"] == "resolved [EMAIL]"
    assert doc.sections[0].text == "Mail [EMAIL], tel [PHONE]\n\nIBAN [IBAN]"
    assert doc.sections[1].text == "Refunded to card [CARD] (TXN 4471823990120457), firmware 2.4.14"
    assert doc.sections[2].text == "Called [PHONE] and [PHONE]; order NB-2026-004701 on 2026-03-12"
    assert doc.id == "case-00104810" and doc.metadata["case_id"] == "00104810"
    assert doc.url == "https://crm/00104810"
    assert connector.reads[0].redacted == {"card": 2, "email": 2, "phone": 6, "iban": 2}


def test_a_public_case_is_redacted_everywhere_and_counted_once(tmp_path: Path):
    values = list(PERSONAL)
    record = {
        "case_id": "7",
        "status": "solved",
        "subject": f"Call {values[1]}",
        "product": f"box {values[2]}",
        "channel": f"mail {values[0]}",
        "category": f"billing {values[3]}",
        "description": f"IBAN {values[5]}",
        "resolution": f"Refunded to {values[4]}.",
    }
    f = write_jsonl(tmp_path / "c.jsonl", [record])
    connector = CrmConnector(public_resolutions=True)
    [doc], [] = read(connector, f)
    assert doc.visibility == "public"
    # Values typed by a person, as personal data in them shows, stay out of the title.
    assert doc.title == "Resolution of a support case"
    assert doc.metadata["product"] == "box [PHONE]"
    assert doc.metadata["channel"] == "mail [EMAIL]"
    text = json.dumps(doc.to_json(), ensure_ascii=False)
    assert not [v for v in PERSONAL if v in text]
    # The title is built from the redacted product and category: nothing counted twice.
    assert connector.reads[0].redacted == {"phone": 3, "email": 1, "iban": 1, "card": 1}


def test_the_callers_redactor_sees_every_text_but_the_case_id(tmp_path: Path):
    seen: list[str] = []

    def names(text: str) -> str:
        seen.append(text)
        return text.replace("Sarah Whitfield", "[NAME]")

    record = {
        "case_id": "Sarah Whitfield",  # an identifier: kept as it is
        "status": "solved",
        "subject": "Sarah Whitfield cannot log in",
        "channel": "Phone, Sarah Whitfield",
        "product": "app",
        "description": "I am Sarah Whitfield.",
        "notes": "Sarah Whitfield called.",
        "resolution": "Reset Sarah Whitfield's password.",
    }
    f = write_jsonl(tmp_path / "c.jsonl", [record])
    [doc], [] = read(CrmConnector(public_resolutions=True, redactor=names), f)
    shown = doc.to_json()
    del shown["id"], shown["metadata"]["case_id"], shown["url"]  # type: ignore[attr-defined]
    assert "Whitfield" not in json.dumps(shown)
    assert doc.metadata["channel"] == "Phone, [NAME]"
    assert doc.sections[-2].text == "Reset [NAME]'s password."
    assert "Sarah Whitfield" not in seen  # the case id never reaches the redactor


def test_skipped_statuses_and_logged_values_are_redacted(tmp_path: Path, caplog):
    f = write_csv(
        tmp_path / "c.csv",
        [case("1", "Open a@b.com"), case("2", Closed="call 06 12 34 56 78")],
    )
    connector = CrmConnector()
    with caplog.at_level(logging.WARNING, logger="srmkb.connectors.crm"):
        [_], [] = read(connector, f)
    assert connector.reads[0].skipped_statuses == {"open [EMAIL]": 1}
    assert "06 12" not in caplog.text and "[PHONE]" in caplog.text
    assert connector.reads[0].redacted == {}  # what never enters the base is not counted


# --- bad input ----------------------------------------------------------------------


def test_bad_csv_rows_are_reported_with_their_line_and_the_rest_goes_on(tmp_path: Path):
    rows = [
        case("1", Description="Two lines:\nred light."),  # lines 2-3
        case("", Subject="No id"),  # line 4
        case("3", Subject="", Description="", Resolution="", **{"Internal Notes": ""}),  # 5
        ["4", "Short row", "Resolved"],  # line 6
        case("5"),  # line 7
        case("1"),  # line 8: a duplicate
        case("6", Closed="someday"),  # line 9: kept, the date dropped
        [""] * len(HEADER),  # line 10: blank, ignored
        [*case("7"), "extra"],  # line 11
    ]
    f = write_csv(tmp_path / "c.csv", rows)
    connector = CrmConnector()
    docs, errors = read(connector, f)
    assert [d.id for d in docs] == ["case-1", "case-5", "case-6"]
    assert docs[2].updated_at is None and "closed_at" not in docs[2].metadata
    assert [(e.line, e.path) for e in errors] == [(n, str(f)) for n in (4, 5, 6, 8, 11)]
    assert "no case id" in errors[0].error
    assert "no text" in errors[1].error
    assert "truncated" in errors[2].error
    assert "duplicate" in errors[3].error and "line 2" in errors[3].error
    assert "unquoted" in errors[4].error
    assert connector.reads[0].errors == 5


def test_bad_jsonl_lines_are_reported_with_their_number(tmp_path: Path):
    f = tmp_path / "c.jsonl"
    f.write_text(
        '{"id": 1, "status": "solved", "description": "ok"}\n'
        "\n"
        '{"id": 2, "status": "solved", "description": "cut\n'
        "[1, 2]\n"
        '{"status": "solved", "description": "no id"}\n'
        '{"id": " ", "status": "solved", "description": "blank id"}\n'
        '{"id": 7, "status": "solved"}\n'
        '{"id": 8, "status": "solved", "description": "ok"}\n'
    )
    docs, errors = read(CrmConnector(), f)
    assert [d.id for d in docs] == ["case-1", "case-8"]
    assert [e.line for e in errors] == [3, 4, 5, 6, 7]
    assert "malformed JSON" in errors[0].error and "object" in errors[1].error
    assert "mapping=" in errors[2].error and "no case id" in errors[3].error
    assert "no text" in errors[4].error


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"\n\n  \n", "empty file"),
        (",,,\n", "empty file"),
        (b"Case Number,Subject,Status,Description\n", "no cases"),
        (b"title,body\nHello,World\n", "no case id column"),
        ("Case Number,Status,Description\n1,Résolu,Lumière\n".encode("cp1252"), "encoding"),
    ],
)
def test_bad_csv_files_are_one_error(tmp_path: Path, content, message):
    f = tmp_path / "bad.csv"
    f.write_bytes(content if isinstance(content, bytes) else content.encode())
    docs, errors = read(CrmConnector(), f)
    assert not docs and len(errors) == 1
    assert message in errors[0].error and errors[0].path == str(f)


def test_other_encodings_read_when_named(tmp_path: Path):
    f = tmp_path / "excel.csv"
    f.write_bytes("Case Number;Status;Description\n1;Résolu;Lumière rouge\n".encode("cp1252"))
    [doc], [] = read(CrmConnector(encoding="cp1252"), f)
    assert doc.sections[0].text == "Lumière rouge" and doc.metadata["status"] == "résolu"


def test_unparseable_date_is_logged(tmp_path: Path, caplog):
    f = write_csv(tmp_path / "c.csv", [case("1", Opened="03/14/2026", Closed="tomorrow")])
    with caplog.at_level(logging.WARNING, logger="srmkb.connectors.crm"):
        [doc], [] = read(CrmConnector(), f)
    assert doc.metadata["opened_at"] == "2026-03-14"  # month first: 14 cannot be a month
    assert doc.updated_at is None
    assert "tomorrow" in caplog.text and ":2:" in caplog.text


def test_stats_are_recorded_when_reading_stops_early():
    connector = CrmConnector()
    items = connector.read(EXAMPLES / "cases.csv")
    next(items)
    items.close()
    assert connector.reads == [
        CrmReadStats(str(EXAMPLES / "cases.csv"), rows=1, documents=1, redacted={"phone": 2})
    ]
