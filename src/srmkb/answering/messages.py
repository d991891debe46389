"""The words srmkb itself adds to an answer, in the asker's language.

Answers quote the base; only the framing is srmkb's own: the refusal and hand-over
offer, "Source:", the step prompts of the voice channel, and the notice that the answer
comes from a document in another language. Each phrase exists in English and French;
any other language gets English.
"""

from __future__ import annotations

from ..text._lazy import num2words

LANGUAGES: tuple[str, ...] = ("en", "fr")

_PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "declined": (
            "Sorry, I couldn't find an answer to that in our help content."
            " Would you like to talk to an agent?"
        ),
        "declined_voice": "Sorry, I don't have an answer to that. I can put you through to an agent.",
        "declined_agent": (
            "No confident answer in the knowledge base for this question:"
            " check the related documents and cases, or escalate."
        ),
        "more": "More: {url}",
        "source": "Source: {title}",
        "page": "page {page}",
        "steps": "There are {n} steps.",
        "one_step": "There is one step.",
        "step": "Step {n}. {text}",
        "next": "Say next for the next step.",
        "internal_notes": "Internal notes:",
        "related_cases": "Related cases:",
        "other_language": "This answer comes from a document in {name}.",
    },
    "fr": {
        "declined": (
            "Désolé, je n'ai pas trouvé de réponse à cette question dans notre aide."
            " Voulez-vous parler à un conseiller ?"
        ),
        "declined_voice": (
            "Désolé, je n'ai pas de réponse à cette question. Je peux vous passer un conseiller."
        ),
        "declined_agent": (
            "Pas de réponse sûre dans la base de connaissances pour cette question :"
            " consultez les documents et dossiers similaires, ou faites remonter la demande."
        ),
        "more": "En savoir plus : {url}",
        "source": "Source : {title}",
        "page": "page {page}",
        "steps": "Il y a {n} étapes.",
        "one_step": "Il y a une étape.",
        "step": "Étape {n}. {text}",
        "next": "Dites suivant pour l'étape suivante.",
        "internal_notes": "Notes internes :",
        "related_cases": "Dossiers similaires :",
        "other_language": "Cette réponse provient d'un document en {name}.",
    },
}

# Language names as each language writes them ("un document en anglais").
_NAMES: dict[str, dict[str, str]] = {
    "en": {
        "en": "English",
        "fr": "French",
        "de": "German",
        "es": "Spanish",
        "it": "Italian",
        "pt": "Portuguese",
        "nl": "Dutch",
    },
    "fr": {
        "en": "anglais",
        "fr": "français",
        "de": "allemand",
        "es": "espagnol",
        "it": "italien",
        "pt": "portugais",
        "nl": "néerlandais",
    },
}


def supported(language: str | None) -> str:
    """The language srmkb's own phrases use for ``language``: itself, or English."""
    code = (language or "en").strip().replace("_", "-").split("-")[0].lower()
    return code if code in LANGUAGES else "en"


def phrase(key: str, language: str | None, **values: object) -> str:
    """One phrase in ``language`` (English when srmkb has no phrases in it)."""
    return _PHRASES[supported(language)][key].format(**values)


def language_name(code: str, in_language: str | None) -> str:
    """The name of language ``code`` written in ``in_language`` ("en", "fr" → "anglais")."""
    return _NAMES[supported(in_language)].get(code, code)


def spoken_number(n: int, language: str | None) -> str:
    """``n`` in words, as a voice reads it."""
    return str(num2words(n, lang=supported(language)))
