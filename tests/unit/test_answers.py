"""Answers: one selection rendered per channel, steps, refusal, audit, audience."""

import json
import time

import pytest

from srmkb import Document, HashingEmbedder, InputError, KnowledgeBase, Section
from srmkb.answering.compose import extract_steps, own_heading, split_sentences
from srmkb.answering.confidence import FEATURES
from srmkb.answering.voice import speakable
from srmkb.text.blocks import MAX_CHARS, introduces, units

from ..conftest import ROOT

CHANNELS = ("chat", "email", "voice", "web", "agent")


def _examples() -> list[Document]:
    docs = []
    for name in ("faq.jsonl", "articles.jsonl"):
        with open(ROOT / "examples" / "nimbus" / name) as handle:
            docs += [Document.from_json(json.loads(line)) for line in handle if line.strip()]
    docs.append(
        Document(
            id="router-guide",
            title="Router guide",
            sections=(
                Section(text="Open the app and tap Restart.", heading=("Restart",)),
                Section(
                    text="Escalate restart loops to tier 2 with code RL-77.",
                    heading=("Agent notes",),
                    visibility="internal",
                ),
            ),
        )
    )
    return docs


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    base = KnowledgeBase(tmp_path_factory.mktemp("answers") / "kb", model=HashingEmbedder())
    base.upsert(_examples())
    return base


def test_steps_are_extracted_in_order():
    lines = ["Intro.", "1. Plug it in.", "2. Hold Reset.", "3. Wait.", "Done."]
    assert extract_steps(lines) == ["Plug it in.", "Hold Reset.", "Wait."]
    assert extract_steps(["1. Only one step."]) == []
    assert extract_steps(["1. a 2. b 3. c"]) == ["a", "b", "c"]


def test_sentence_split_keeps_list_lines():
    assert split_sentences("One. Two!\n1. Three") == ["One.", "Two!", "1. Three"]


def test_same_source_and_facts_on_every_channel(kb):
    questions = [
        "hold the reset button with a paper clip",
        "my router light is blinking red",
        "can I return the device for a refund",
        "set up a guest network",
    ]
    for q in questions:
        answers = [
            kb.answer(q, channel=c, threshold=0.0, audience="agent" if c == "agent" else "customer")
            for c in CHANNELS
        ]
        assert len({a.document_id for a in answers}) == 1, q
        assert len({a.passage_ids for a in answers}) == 1, q
        assert len({a.steps for a in answers}) == 1, q
        assert len({round(a.confidence, 6) for a in answers}) == 1, q


def test_rendering_per_channel(kb):
    q = "hold the reset button with a paper clip"
    chat = kb.answer(q, channel="chat", threshold=0.0)
    assert chat.document_id == "kb-factory-reset" and len(chat.steps) == 4
    assert "More: https://help.nimbus.example/articles/factory-reset" in chat.text
    email = kb.answer(q, channel="email", threshold=0.0)
    assert "<ol>" in email.html and "Source: Factory reset a Nimbus router" in email.text
    voice = kb.answer(q, channel="voice", threshold=0.0)
    assert "http" not in voice.text and "<" not in voice.text
    assert "Step one. Keep the router plugged in" in voice.text and "four steps" in voice.text
    assert not any(ch.isdigit() for ch in voice.text)
    web = kb.answer(q, channel="web", threshold=0.0)
    assert web.html.startswith('<div class="srmkb-answer">')
    assert web.citations[0].url == "https://help.nimbus.example/articles/factory-reset"


def test_declines_below_threshold_and_offers_an_agent(kb):
    answer = kb.answer("hold the reset button", threshold=1.01)
    assert not answer.answered and answer.handover and answer.document_id is None
    assert "agent" in answer.text
    assert (
        kb.answer("hold the reset button", channel="voice", threshold=1.01).text.count("http") == 0
    )


def test_a_decline_on_the_agent_channel_does_not_offer_an_agent(kb):
    for audience in ("customer", "agent"):
        answer = kb.answer(
            "hold the reset button", channel="agent", audience=audience, threshold=1.01
        )
        assert not answer.answered
        assert "talk to an agent" not in answer.text and "escalate" in answer.text
    french = kb.answer("tenir le bouton", channel="agent", threshold=1.01, language="fr")
    assert "conseiller" not in french.text and "remonter" in french.text


def test_customer_never_sees_internal_text(kb):
    quoted = "Escalate restart loops to tier 2 with code RL-77"
    for channel in CHANNELS[:4]:
        a = kb.answer(quoted, channel=channel, threshold=0.0)
        blob = json.dumps({k: v for k, v in a.to_json().items() if k != "question"})
        assert "RL-77" not in blob and "tier 2" not in blob
        assert all(not r.internal for r in a.related)
    quoted = "Team leads may approve a refund up to 60 days after delivery"
    a = kb.answer(quoted, threshold=0.0)
    assert a.document_id != "int-refund-exceptions"
    assert "60 days" not in json.dumps({k: v for k, v in a.to_json().items() if k != "question"})
    agent = kb.answer(quoted, channel="agent", audience="agent", threshold=0.0)
    assert agent.document_id == "int-refund-exceptions" and agent.internal


def test_agent_sees_internal_notes_of_the_source(kb):
    a = kb.answer(
        "restart the router from the app", channel="agent", audience="agent", threshold=0.0
    )
    assert a.document_id == "router-guide"
    assert any("RL-77" in n for n in a.internal_notes) and "Internal notes" in a.text


def test_every_answer_is_audited(kb):
    before = len(kb.audit.interactions())
    a = kb.answer("my email is jane.doe@example.com, how do I reset my password?", threshold=0.0)
    b = kb.answer("gibberish", threshold=1.01, channel="voice")
    log = kb.audit.interactions()[before:]
    assert [i.id for i in log] == [a.interaction_id, b.interaction_id]
    assert log[0].answered and log[0].document_id == a.document_id and log[0].document_version == 1
    assert "jane.doe@example.com" not in log[0].question
    assert log[1].answered is False and log[1].channel == "voice"


def test_bad_channel(kb):
    with pytest.raises(InputError):
        kb.answer("x", channel="fax")


def test_speakable_numbers_and_abbreviations():
    assert speakable("Wait 10 min. then call No. 3, e.g. at https://x.y/z.") == (
        "Wait ten minutes. then call number three, for example at."
    )
    assert (
        speakable("Coût : 4,99 € p. ex.", "fr")
        == "Coût : quatre virgule neuf neuf euros par exemple"
    )


# -- the asker's language ---------------------------------------------------------------

# A French FAQ entry of the example base (examples/nimbus/faq.csv), with its steps numbered.
_FRENCH_FAQ = Document(
    id="faq-fr-remboursement",
    title="Puis-je être remboursé ?",
    text=(
        "Oui. Vous pouvez retourner tout appareil Nimbus dans les 30 jours suivant la "
        "livraison, dans son emballage d'origine.\n"
        "1. Ouvrez Commandes dans l'application Nimbus.\n"
        "2. Choisissez l'appareil et touchez Retourner.\n"
        "3. Déposez le colis en point relais sous 14 jours.\n"
        "Le remboursement arrive sur votre carte 5 à 10 jours ouvrés après réception."
    ),
    url="https://help.nimbus.example/fr/faq/remboursement",
    language="fr",
)


@pytest.fixture(scope="module")
def bilingual(tmp_path_factory):
    base = KnowledgeBase(tmp_path_factory.mktemp("bilingual") / "kb", model=HashingEmbedder())
    base.upsert([*_examples(), _FRENCH_FAQ])
    return base


def test_french_question_gets_french_framing_and_no_notice(bilingual):
    q = "Puis-je être remboursé si je retourne l'appareil ?"
    chat = bilingual.answer(q, threshold=0.0)
    assert chat.document_id == "faq-fr-remboursement"
    assert chat.language == chat.source_language == "fr"
    assert "En savoir plus : https://help.nimbus.example/fr/faq/remboursement" in chat.text
    assert "document en" not in chat.text and "More:" not in chat.text
    email = bilingual.answer(q, channel="email", threshold=0.0)
    assert "Source : Puis-je être remboursé ?" in email.text
    assert '<div lang="fr">' in email.html


def test_french_voice_reads_numbers_and_steps_in_french(bilingual):
    voice = bilingual.answer("Puis-je être remboursé ?", channel="voice", threshold=0.0)
    assert voice.document_id == "faq-fr-remboursement"
    assert "trente jours" in voice.text
    assert "Il y a trois étapes." in voice.text
    assert "Étape un. Ouvrez Commandes" in voice.text
    assert "Dites suivant" in voice.text
    assert not any(ch.isdigit() for ch in voice.text)


def test_answer_from_a_document_in_another_language_says_so(bilingual):
    # The asker's language is French; the only matching source is English.
    q = "hold the reset button with a paper clip"
    chat = bilingual.answer(q, threshold=0.0, language="fr")
    assert chat.document_id == "kb-factory-reset" and chat.source_language == "en"
    assert chat.text.startswith("Cette réponse provient d'un document en anglais.")
    assert chat.citations[0].url in chat.text  # still cited
    web = bilingual.answer(q, channel="web", threshold=0.0, language="fr-CA")
    assert 'class="srmkb-language">Cette réponse provient' in web.html
    assert web.to_json()["source_language"] == "en" and web.to_json()["language"] == "fr"
    english = bilingual.answer("Puis-je être remboursé ?", threshold=0.0, language="en")
    assert english.text.startswith("This answer comes from a document in French.")


def test_refusal_and_handover_in_the_askers_language(bilingual):
    chat = bilingual.answer("Vendez-vous des téléviseurs ?", threshold=1.01)
    assert not chat.answered and chat.handover and chat.language == "fr"
    assert chat.text.startswith("Désolé") and "conseiller" in chat.text
    voice = bilingual.answer("Vendez-vous des téléviseurs ?", channel="voice", threshold=1.01)
    assert voice.text == (
        "Désolé, je n'ai pas de réponse à cette question. Je peux vous passer un conseiller."
    )
    german = bilingual.answer("Verkaufen Sie auch Fernseher?", threshold=1.01, language="de")
    assert german.text.startswith("Sorry")  # no German phrases: English


def test_french_sentences_and_steps_split():
    assert split_sentences("Oui. État du voyant : bleu. À noter.") == [
        "Oui.",
        "État du voyant : bleu.",
        "À noter.",
    ]
    assert extract_steps(["Étape 1 : Ouvrez l'app.", "Étape 2 : Touchez Réseau."]) == [
        "Ouvrez l'app.",
        "Touchez Réseau.",
    ]


def test_speakable_dates_times_and_versions():
    # Text of the example CRM cases and French FAQ (examples/crm, examples/nimbus/faq.csv).
    assert speakable("Rappel client le 03/03/2026 à 18h15.", "fr") == (
        "Rappel client le trois mars deux mille vingt-six à dix-huit heures quinze."
    )
    assert speakable("La nuit, entre 2 h et 4 h, le 1er mars.", "fr") == (
        "La nuit, entre deux heures et quatre heures, le premier mars."
    )
    assert (
        speakable("Mis à jour le 2026-01-08.", "fr")
        == "Mis à jour le huit janvier deux mille vingt-six."
    )
    assert speakable("Installed 2.4.14 on 2026-03-02 at 9:05.") == (
        "Installed two point four point fourteen on the second of March, twenty twenty-six"
        " at nine oh five."
    )
    assert speakable("Open 24/7, 2 habits", "fr") == "Open vingt-quatre/sept, deux habits"


def test_steps_from_another_section_only_when_they_concern_the_question(tmp_path):
    # The shape of examples/nimbus/help/router-ports.html: an intro, then a procedure.
    page = Document(
        id="router-ports",
        title="Ports on the Nimbus router",
        sections=(
            Section(
                text="The back of the Nimbus router has four ports and a recessed Reset button.",
                heading=("Ports",),
            ),
            Section(
                text="1. In the Nimbus app, open Devices and choose the device.\n"
                "2. Tap Advanced, then Reserve IP address.\n"
                "3. Restart the device so it picks up the reserved address.",
                heading=("Giving a device a fixed address",),
            ),
        ),
    )
    kb = KnowledgeBase(tmp_path / "kb", model=HashingEmbedder())
    kb.upsert([page])
    ports = kb.answer("which ports are on the back of the router", threshold=0.0, log=False)
    assert ports.document_id == "router-ports" and ports.steps == ()
    fixed = kb.answer("give my printer a fixed address", threshold=0.0, log=False)
    assert len(fixed.steps) == 3


# -- Whole answers: a sentence that announces a list, table or code comes with all of it --

_COUNTRIES = (
    "Austria Belgium Bulgaria Croatia Cyprus Czechia Denmark Estonia Finland France Germany"
    " Greece Hungary Ireland Italy Latvia Lithuania Luxembourg Malta Netherlands Poland"
    " Portugal Romania Slovakia Slovenia Spain Sweden Norway Iceland Switzerland"
).split()

_BLOCK_DOCS = [
    Document(
        id="plans",
        title="Nimbus broadband plans",
        text="Every plan includes the Nimbus app. Three plans are available:\n"
        "- Basic: 50 Mbit/s\n- Plus: 300 Mbit/s\n- Pro: 1 Gbit/s\n"
        "Prices are on the shop page.",
    ),
    Document(
        id="prices",
        title="Monthly prices",
        text="Prices include VAT. The monthly prices are as follows:\n"
        "Plan | Price\nBasic | 19 euros\nPlus | 29 euros\nPro | 49 euros",
    ),
    Document(
        id="terminal",
        title="Update the router from a terminal",
        text="The router can also be updated from a computer. Open a terminal and run:\n"
        "  nimbus-cli update --now\nThe update takes two minutes.",
    ),
    Document(
        id="shipping",
        title="Shipping countries",
        text="We ship from our warehouse in Lyon. We ship to the following countries:\n"
        + "\n".join(f"- {c}" for c in _COUNTRIES),
    ),
    Document(
        id="keeping-current",
        title="Keeping the router current",
        sections=(
            Section(
                text="Updates arrive every month. Several tools are available for this purpose:",
                heading=("Keeping current",),
            ),
            Section(
                text="The app installs updates at night.",
                heading=("Keeping current", "1.1. The Nimbus app"),
            ),
            Section(
                text="The command line installs them at once.",
                heading=("Keeping current", "1.2. The command line"),
            ),
        ),
    ),
    Document(
        id="guest",
        title="Guest network",
        text="Turn on the guest network in the app. You can also use the following:",
    ),
]


@pytest.fixture(scope="module")
def blocks_kb(tmp_path_factory):
    base = KnowledgeBase(tmp_path_factory.mktemp("blocks") / "kb", model=HashingEmbedder())
    base.upsert(_BLOCK_DOCS)
    return base


def _answers(kb, question: str, document_id: str) -> dict:
    out = {c: kb.answer(question, channel=c, threshold=0.0, log=False) for c in CHANNELS}
    assert {a.document_id for a in out.values()} == {document_id}
    return out


def test_a_list_comes_whole_after_the_sentence_that_announces_it(blocks_kb):
    a = _answers(blocks_kb, "which broadband plans are available", "plans")
    listed = "Three plans are available:\n- Basic: 50 Mbit/s\n- Plus: 300 Mbit/s\n- Pro: 1 Gbit/s"
    for channel in ("chat", "email", "web", "agent"):
        assert listed in a[channel].text, channel
    # Chat ends with the list it quotes; the page channels go on.
    assert "shop page" not in a["chat"].text and "shop page" in a["web"].text
    assert "<ul><li>Basic: 50 Mbit/s</li><li>Plus: 300 Mbit/s</li>" in a["web"].html
    voice = a["voice"].text
    assert "Three plans are available: Basic: fifty megabits per second, Plus: three" in voice


def test_a_table_comes_whole_and_voice_stops_before_it(blocks_kb):
    a = _answers(blocks_kb, "what are the monthly prices", "prices")
    table = "as follows:\nPlan | Price\nBasic | 19 euros\nPlus | 29 euros\nPro | 49 euros"
    assert table in a["chat"].text and table in a["web"].text
    assert "<tr><td>Pro</td><td>49 euros</td></tr></table>" in a["web"].html
    # A table is not read out: the voice answer stops before the sentence announcing it.
    assert a["voice"].text == "Prices include VAT."


def test_code_comes_whole_after_the_sentence_that_announces_it(blocks_kb):
    a = _answers(blocks_kb, "update the router from a terminal", "terminal")
    assert "Open a terminal and run:\n  nimbus-cli update --now" in a["chat"].text
    assert "<pre>  nimbus-cli update --now</pre>" in a["web"].html
    assert a["web"].text.endswith("The update takes two minutes.")


def test_a_list_longer_than_the_budget_stops_before_the_sentence_announcing_it(blocks_kb):
    a = _answers(blocks_kb, "which countries do you ship to", "shipping")
    for channel in ("chat", "voice"):
        assert "following countries" not in a[channel].text, channel
        assert a[channel].text.startswith("We ship from our warehouse in Lyon."), channel
    assert a["web"].text.endswith("\n".join(f"- {c}" for c in _COUNTRIES))


def test_a_section_announcing_its_subsections_lists_their_headings(blocks_kb):
    a = _answers(blocks_kb, "tools for keeping the router current", "keeping-current")
    listed = "Several tools are available for this purpose:\n- The Nimbus app\n- The command line"
    assert a["web"].text.endswith(listed) and a["agent"].text.startswith(
        f"Updates arrive every month.\n{listed}\n\n"
    )
    assert "<ul><li>The Nimbus app</li><li>The command line</li></ul>" in a["email"].html


def test_a_sentence_announcing_nothing_that_follows_is_left_out(blocks_kb):
    a = _answers(blocks_kb, "guest network", "guest")
    assert a["web"].text == a["voice"].text == "Turn on the guest network in the app."
    assert all("following" not in answer.text for answer in a.values())


def test_units_keep_a_block_with_the_sentence_that_announces_it():
    text = (
        "Intro. Pick one of these:\n- First\n  Its own paragraph.\n- Second\nAfter the list.\n"
        "Run this:\n  make demo\nDone.\nSee the table below.\nA | B\n1 | 2\nNo block here:\n"
        "Just prose.\nThe following is true for all routers."
    )
    got = [(u.sentence, u.block) for u in units(text)]
    assert got == [
        ("Intro.", ()),
        ("Pick one of these:", ("- First", "  Its own paragraph.", "- Second")),
        ("After the list.", ()),
        ("Run this:", ("  make demo",)),
        ("Done.", ()),
        ("See the table below.", ("A | B", "1 | 2")),
        ("No block here:", ()),
        ("Just prose.", ()),
        ("The following is true for all routers.", ()),
    ]
    assert [u.dangling for u in units(text)][-3:] == [True, False, False]
    # In short, a list keeps its items; an item that announces code keeps its code.
    short = units("Do this:\n- Open the app.\n  It is blue.\n- Execute:\n  nimbus-cli reset")[0]
    assert short.outline.block == ("- Open the app.", "- Execute:", "  nimbus-cli reset")
    assert introduces("Voici les étapes :") and introduces("Check the following settings.")
    assert not introduces("Temperatures below zero damage it.")


def test_units_run_in_linear_time_on_hostile_text():
    # Lines that all announce a block, and a block that never ends, at the size limit.
    for text in ("a:\n" * (MAX_CHARS // 3), "x:\n" + "- y\n  z.\nw.\n" * (MAX_CHARS // 10)):
        start = time.perf_counter()
        got = units(text + "\nTail beyond the limit." * 1000)
        assert time.perf_counter() - start < 5
        assert all("Tail" not in u.sentence for u in got)


def test_a_sections_heading_is_one_of_its_lines_for_confidence(tmp_path):
    # A manual or an FAQ chapter asks its questions in section headings, not its title:
    # asked verbatim, the heading is the passage's closest line (cosine 1).
    manual = Document(
        id="manual",
        title="Nimbus R2 router - user manual",
        sections=(
            Section(text="The router connects to your modem.", heading=("1 Getting started",)),
            Section(
                text="Restart the modem first, then the router.",
                heading=("2 Troubleshooting", "2.1 What if the internet is slow?"),
            ),
        ),
    )
    kb = KnowledgeBase(tmp_path / "kb", model=HashingEmbedder())
    kb.upsert([manual])
    features = dict(zip(FEATURES, kb.evidence("What if the internet is slow?").features))
    assert features["line_cos"] == pytest.approx(1.0)
    assert own_heading("2 Troubleshooting > 2.1 What if the internet is slow?") == (
        "What if the internet is slow?"
    )
    assert own_heading("Wait 10 minutes") == "Wait 10 minutes"
