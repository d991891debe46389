"""Answers: one selection rendered per channel, steps, refusal, audit, audience."""

import json

import pytest

from srmkb import Document, HashingEmbedder, InputError, KnowledgeBase, Section
from srmkb.answering.compose import extract_steps, split_sentences
from srmkb.answering.voice import speakable

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
