"""Offline language detection on real text from the shared sets."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from srmkb.errors import InputError
from srmkb.text.language import (
    DEFAULT_LANGUAGES,
    UNDETERMINED,
    detect_language,
    language_probabilities,
)

from ..conftest import shared_path

# Debian FAQ (basic-defs.fr.html, basic-defs.en.html) and service-public-fr.
FRENCH = [
    "Les développeurs Debian contribuent au projet non pas en programmant de nouvelles "
    "applications mais en empaquetant les logiciels existants suivant les normes du projet.",
    "Il a été à l'origine conçu pour les ordinateurs 386 (et plus récents) ; aujourd'hui "
    "Linux fonctionne également sur une douzaine d'autres systèmes.",
    "Toutefois, cette obligation ne s’applique pas si des violences ont été commises sur "
    "un parent ou sur l’enfant.",
]
ENGLISH = [
    "In short, Linux is the kernel of a Unix-like operating system.",
    "The Hurd is a set of servers running on top of the GNU Mach microkernel.",
    "How does the Debian project fit in or compare with the Free Software Foundation's "
    "GNU project?",
]
# Queries of the shared sets: service-public-fr, LibreOffice help (fr), banking77, scifact.
SHORT_FRENCH = [
    "Qu'est-ce que la médiation familiale ?",
    "Peut-on changer le nom d'un enfant mineur ?",
    "Dessiner des secteurs et segments",
    "Actualiser les diagrammes de table dynamique",
]
SHORT_ENGLISH = [
    "How do I locate my card?",
    "Special properties of a formatted field",
    "1 in 5 million in UK have abnormal PrP positivity.",
]


@pytest.mark.parametrize("text", FRENCH + SHORT_FRENCH)
def test_french(text: str) -> None:
    assert detect_language(text) == "fr"


@pytest.mark.parametrize("text", ENGLISH + SHORT_ENGLISH)
def test_english(text: str) -> None:
    assert detect_language(text) == "en"


@pytest.mark.parametrize("text", ["", "   \n", "12345 ?!", "--- ***"])
def test_nothing_to_detect_is_undetermined(text: str) -> None:
    assert detect_language(text) == UNDETERMINED
    assert language_probabilities(text) == {}


@pytest.mark.parametrize(
    "text",
    # LibreOffice help titles spelled alike in French and English, and a franglais one.
    ["Sparklines", "Report Builder", "Assistant Mailing"],
)
def test_ambiguous_short_text_is_undetermined(text: str) -> None:
    assert detect_language(text) == UNDETERMINED
    assert detect_language(text, languages=("en", "fr")) == UNDETERMINED
    # The best guess is still there for a caller who wants one.
    assert detect_language(text, min_confidence=0.0) in DEFAULT_LANGUAGES


def test_other_languages_are_named() -> None:
    assert detect_language("Wie geht es dir heute, mein Freund? Das Wetter ist schön.") == "de"


def test_restricted_to_the_languages_given() -> None:
    probabilities = language_probabilities(SHORT_FRENCH[0], languages=["FR", "en"])
    assert set(probabilities) == {"fr", "en"}
    assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-4)
    assert next(iter(probabilities)) == "fr"
    german = "Wie geht es dir heute, mein Freund? Das Wetter ist schön."
    assert detect_language(german, languages=["en", "fr"], min_confidence=0.0) in {"en", "fr"}


def test_deterministic() -> None:
    text = SHORT_ENGLISH[0]
    assert language_probabilities(text) == language_probabilities(text)


def test_bad_language_codes_are_input_errors() -> None:
    with pytest.raises(InputError, match="xx"):
        detect_language("bonjour", languages=["fr", "xx"])
    with pytest.raises(InputError):
        detect_language("bonjour", languages=[])


def _page_text(path: Path) -> str:
    raw = path.read_text(encoding="utf-8")
    raw = re.sub(r"(?s)<(head|script|style)\b.*?</\1>", " ", raw)
    return html.unescape(re.sub(r"<[^>]+>", " ", raw))


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_debian_faq_pages(lang: str) -> None:
    folder = shared_path("data", "docs", "debian-faq", lang)
    pages = sorted(folder.glob("*.html"))
    assert pages
    for page in pages:
        assert detect_language(_page_text(page)) == lang, page.name


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_process_forked_while_the_detector_loads_detects_without_deadlock():
    # srmkb starts reading the detector's model at import, holding a lock; a child forked
    # meanwhile must not inherit that lock held by a thread it does not have.
    code = (
        "import os, srmkb\n"
        "from srmkb.text.language import detect_language\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    os._exit(0 if detect_language('Comment changer le mot de passe ?') == 'fr' else 3)\n"
        "print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), detect_language('Reset it now please'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "en"]
