"""Query translation: the Apertium subprocess (a fake binary stands in for it), its
cache and limits, and search with a translator over a base in another language."""

from __future__ import annotations

import logging
import os
import re
import stat
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from srmkb import Document, HashingEmbedder, InputError, KnowledgeBase, MissingDependencyError
from srmkb.index import Ranking
from srmkb.index.fusion import fuse_lists
from srmkb.text.translation import (
    ApertiumTranslator,
    TranslationError,
    Translator,
    TranslatorMissingError,
)

# A stand-in for ``apertium``: ``-l`` lists the modes; a translation tags each line with
# its mode and adds Apertium's marks, or misbehaves as FAKE_APERTIUM says.
FAKE = textwrap.dedent(
    """\
    #!{python}
    import os, sys, time
    if sys.argv[1:] == ["-l"]:
        print("  fr-es\\n  spa-eng\\n  eng-spa\\n  es-fr")
        sys.exit(0)
    how = os.environ.get("FAKE_APERTIUM", "ok")
    if how == "fail":
        sys.stderr.write("cannot open mode\\n")
        sys.exit(3)
    if how == "sleep":
        time.sleep(30)
    mode = sys.argv[-1]
    lines = sys.stdin.read().split("\\n")[:-1]
    if how == "drop":
        lines = lines[:-1]
    for line in lines:
        print(line + " *" + mode.replace("-", "") + " #gap @x")
    """
)


@pytest.fixture
def fake(tmp_path: Path) -> Path:
    path = tmp_path / "bin" / "apertium"
    path.parent.mkdir()
    path.write_text(FAKE.format(python=sys.executable))
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_a_fake_apertium_runs_both_steps_and_its_marks_are_stripped(fake: Path) -> None:
    translator = ApertiumTranslator(binary=str(fake))
    assert isinstance(translator, Translator)
    assert translator.available("fr", "en") and translator.available("en", "fr")
    assert translator.translate("Bonjour\nle monde", "fr", "en") == (
        "Bonjour le monde fres gap x spaeng gap x"
    )
    assert translator.translate_many(["a", "", "b"], "en", "fr") == [
        "a engspa gap x esfr gap x",
        "",
        "b engspa gap x esfr gap x",
    ]


def test_translations_are_cached_least_recently_used_first_out(fake: Path) -> None:
    translator = ApertiumTranslator(binary=str(fake), cache_size=2)
    translator.translate("un", "fr", "en")
    translator.translate("deux", "fr", "en")
    assert translator.calls == 2
    translator.translate("un", "fr", "en")  # cached, and now the most recent
    assert translator.calls == 2
    translator.translate("trois", "fr", "en")  # evicts "deux"
    translator.translate("un", "fr", "en")
    assert translator.calls == 3
    translator.translate("deux", "fr", "en")
    assert translator.calls == 4
    translator.translate("un", "en", "fr")  # another pair: another entry
    assert translator.calls == 5


def test_a_text_over_the_limit_is_refused_before_anything_runs(fake: Path) -> None:
    translator = ApertiumTranslator(binary=str(fake), max_chars=50)
    with pytest.raises(InputError, match="at most 50"):
        translator.translate("x" * 51, "fr", "en")
    assert translator.calls == 0
    assert translator.translate("x" * 50, "fr", "en").startswith("x" * 50)


def test_a_failing_translator_says_why(fake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    translator = ApertiumTranslator(binary=str(fake))
    translator.modes()
    monkeypatch.setenv("FAKE_APERTIUM", "fail")
    with pytest.raises(TranslationError, match="status 3: cannot open mode"):
        translator.translate("Bonjour", "fr", "en")
    monkeypatch.setenv("FAKE_APERTIUM", "drop")
    with pytest.raises(TranslationError, match="0 line"):
        translator.translate("Bonjour", "fr", "en")


def test_a_hanging_translator_times_out(fake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    translator = ApertiumTranslator(binary=str(fake), timeout=1.0)
    translator.modes()
    monkeypatch.setenv("FAKE_APERTIUM", "sleep")
    with pytest.raises(TranslationError, match="timed out"):
        translator.translate("Bonjour", "fr", "en")


def test_a_missing_apertium_is_not_available_and_names_the_packages(tmp_path: Path) -> None:
    translator = ApertiumTranslator(binary=str(tmp_path / "no-such-apertium"))
    assert not translator.available()
    with pytest.raises(TranslatorMissingError, match="apt-get install apertium") as caught:
        translator.translate("Bonjour", "fr", "en")
    assert isinstance(caught.value, MissingDependencyError)


def test_an_unknown_pair_is_an_input_error(fake: Path) -> None:
    translator = ApertiumTranslator(binary=str(fake))
    assert not translator.can_translate("fr", "de")
    with pytest.raises(InputError, match="no translation from 'fr' to 'de'"):
        translator.translate("Bonjour", "fr", "de")


@pytest.mark.skipif(
    not ApertiumTranslator().available("fr", "en")
    or not ApertiumTranslator().available("en", "fr"),
    reason="apertium, apertium-fr-es and apertium-eng-spa are not installed",
)
def test_the_real_apertium_translates_both_ways() -> None:
    translator = ApertiumTranslator()
    english = translator.translate(
        "Comment installer un paquet sans connexion réseau ?", "fr", "en"
    )
    assert "install" in english and "package" in english
    assert "*" not in english
    french = translator.translate("How do I change the password?", "en", "fr")
    assert "mot de passe" in french


# -- the pipeline kept running ----------------------------------------------------------

# A stand-in for one Apertium stage in null-flush mode: it answers each text ended by
# the null character with the text as it is (or upper-cased), then the null character;
# FAKE_STAGE makes it hang or die instead.
STAGE = textwrap.dedent(
    """\
    #!{python}
    import os, sys
    how = os.environ.get("FAKE_STAGE", "echo")
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    buf = b""
    while True:
        byte = stdin.read(1)
        if not byte:
            sys.exit(0)
        if byte != b"\\0":
            buf += byte
            continue
        if how == "die":
            sys.exit(1)
        if how == "hang":
            continue
        stdout.write((buf.upper() if sys.argv[1] == "upper" else buf) + b"\\0")
        stdout.flush()
        buf = b""
    """
)
# ``apertium-wblank-mode -z FILE`` prints the stages of a mode as a shell pipeline.
WBLANK = textwrap.dedent(
    """\
    #!{python}
    import sys
    print(open(sys.argv[-1]).read().strip())
    """
)


@pytest.fixture
def fake_pipeline(fake: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fake ``apertium`` with mode files beside it, whose stages stand in for
    Apertium's null-flush processes."""
    bin_dir, modes = fake.parent, fake.parent.parent / "share" / "apertium" / "modes"
    modes.mkdir(parents=True)
    for name, text in (("stage", STAGE), ("apertium-wblank-mode", WBLANK)):
        (bin_dir / name).write_text(text.format(python=sys.executable))
        (bin_dir / name).chmod(0o755)
    stage = bin_dir / "stage"
    for mode, how in (
        ("fr-es", "echo"),
        ("spa-eng", "upper"),
        ("eng-spa", "echo"),
        ("es-fr", "echo"),
    ):
        (modes / f"{mode}.mode").write_text(f"'{stage}' {how} | '{stage}' echo $2\n")
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    return fake


def test_a_kept_pipeline_translates_and_keeps_the_stream_format_out_of_the_text(
    fake_pipeline: Path,
) -> None:
    translator = ApertiumTranslator(binary=str(fake_pipeline), cache_size=0)
    # Through the stages (upper-cased by spa-eng's), not the per-call command.
    assert translator.translate("Bonjour le monde", "fr", "en") == "BONJOUR LE MONDE"
    # Characters of Apertium's format become spaces on the way in (a stage may never
    # answer a text ending in one); its blanks are dropped on the way out.
    special = "a\\b [x] ^y$ <t> {u} ~z / fin^"
    assert translator.translate(special, "en", "fr") == "a b x y t u z fin"
    assert translator.calls == 2
    translator.close()
    assert translator.translate("encore", "fr", "en") == "ENCORE"  # started again


@pytest.mark.parametrize("how", ["die", "hang"])
def test_a_broken_pipeline_is_an_error_and_the_next_translation_starts_a_new_one(
    fake_pipeline: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    monkeypatch.setenv("FAKE_STAGE", how)
    translator = ApertiumTranslator(binary=str(fake_pipeline), timeout=1.0)
    with pytest.raises(TranslationError, match="stopped" if how == "die" else "timed out"):
        translator.translate("Bonjour", "fr", "en")
    monkeypatch.setenv("FAKE_STAGE", "echo")
    assert translator.translate("Bonjour", "fr", "en") == "BONJOUR"


def test_without_mode_files_each_translation_runs_the_command(fake: Path) -> None:
    translator = ApertiumTranslator(binary=str(fake))  # no share/apertium/modes beside it
    assert translator.translate("Bonjour", "fr", "en") == "Bonjour fres gap x spaeng gap x"
    persistent_off = ApertiumTranslator(binary=str(fake), persistent=False)
    assert persistent_off.translate("Bonjour", "fr", "en") == "Bonjour fres gap x spaeng gap x"


@pytest.mark.skipif(
    not ApertiumTranslator().available("fr", "en")
    or not ApertiumTranslator().available("en", "fr"),
    reason="apertium, apertium-fr-es and apertium-eng-spa are not installed",
)
def test_the_kept_pipeline_answers_texts_ending_in_the_stream_formats_characters() -> None:
    # lrx-proc never answered a text ending in an escaped ^: each translation waited for
    # the timeout (a logged query "e^" made /report take 10 s per replay).
    translator = ApertiumTranslator(cache_size=0, timeout=2.0)
    for special in "\\[]^$<>/@{}~":
        for text in (f"e{special}", f"{special}", f"le chat{special}{special}"):
            for source, target in (("fr", "en"), ("en", "fr")):
                translator.translate(text, source, target)  # within the timeout
    assert translator.translate("le chat^", "fr", "en") == translator.translate(
        "le chat", "fr", "en"
    )
    translator.close()


@pytest.mark.skipif(
    not ApertiumTranslator().available("fr", "en")
    or not ApertiumTranslator().available("en", "fr"),
    reason="apertium, apertium-fr-es and apertium-eng-spa are not installed",
)
def test_the_kept_pipeline_translates_as_the_apertium_command_does() -> None:
    kept = ApertiumTranslator(cache_size=0)
    per_call = ApertiumTranslator(cache_size=0, persistent=False)
    french = [
        "Comment installer un paquet sans connexion réseau ?",
        "Qu'est-ce que Debian GNU/Linux ?",
        "L'outil « apt-get » : 3,5 Go, 10 % ; e-mail — l’été (2024) !",
        "Où se trouve le fichier /etc/apt/sources.list ? [urgent] <svp>",
    ]
    english = ["How do I change the password?", "Where is the C:\\ drive {root}?"]

    def words(text: str) -> list[str]:
        return re.findall(r"\w+", text)

    for texts, source, target in ((french, "fr", "en"), (english, "en", "fr")):
        for text in texts:
            assert words(kept.translate(text, source, target)) == words(
                per_call.translate(text, source, target)
            )
    kept.close()


# -- search ---------------------------------------------------------------------------

WORDS = {"comment": "how", "réinitialiser": "reset", "mon": "my", "routeur": "router"}


class Dictionary:
    """A word-for-word French -> English translator that counts its calls."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.fail = fail

    def can_translate(self, source: str, target: str) -> bool:
        return (source, target) == ("fr", "en")

    def translate(self, text: str, source: str, target: str) -> str:
        self.calls.append((text, source, target))
        if self.fail:
            raise TranslationError("broken")
        words = text.lower().replace("?", " ").split()
        return " ".join(WORDS.get(w, w) for w in words)


ENGLISH = [
    Document(id="reset", text="How to reset your router: hold the reset button ten seconds."),
    Document(id="wifi", text="Change the Wi-Fi password in the network settings page."),
    Document(id="refund", text="Return the device within thirty days for a full refund."),
    Document(id="bill", text="Your monthly bill is sent by email at the start of the month."),
]
FRENCH = Document(
    id="facture", text="Votre facture mensuelle est envoyée par courriel chaque mois."
)
QUESTION = "Comment réinitialiser mon routeur ?"


def base(path: Path, translate: object) -> KnowledgeBase:
    kb = KnowledgeBase(path, model=HashingEmbedder(), translate=translate)  # type: ignore[arg-type]
    kb.upsert([*ENGLISH, FRENCH])
    return kb


@pytest.mark.parametrize("mode", ["hybrid", "bm25"])
def test_a_french_question_finds_the_english_document_through_translation(
    tmp_path: Path, mode: str
) -> None:
    translator = Dictionary()
    with base(tmp_path / "kb", translator) as kb:
        hits = kb.search(QUESTION, k=3, mode=mode, log=False)  # type: ignore[arg-type]
        assert hits[0].document_id == "reset"
        assert translator.calls == [(QUESTION, "fr", "en")]
        ranked = kb.rank_documents(QUESTION, 3, mode=mode)  # type: ignore[arg-type]
        assert ranked[0][0] == "reset"
    with base(tmp_path / "plain", False) as kb:  # untranslated, BM25 finds nothing
        assert not kb.search(QUESTION, k=3, mode="bm25", log=False)


def test_a_question_in_the_base_language_is_not_translated(tmp_path: Path) -> None:
    translator = Dictionary()
    with base(tmp_path / "kb", translator) as kb:
        kb.search("How do I reset my router?", log=False)
        assert translator.calls == []
        # Filtered on French passages, the French question is not translated either.
        kb.search("Quand arrive ma facture mensuelle ?", filters={"language": "fr"}, log=False)
        assert translator.calls == []


def test_a_failing_translator_leaves_the_search_untranslated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with base(tmp_path / "kb", Dictionary(fail=True)) as kb:
        with caplog.at_level(logging.WARNING, logger="srmkb.kb"):
            hits = kb.search(QUESTION, k=3, log=False)
        with base(tmp_path / "plain", False) as plain:
            expected = plain.search(QUESTION, k=3, log=False)
        assert [h.passage_id for h in hits] == [h.passage_id for h in expected]
        assert "not translated" in caplog.text


# -- fusing a query's ranking with its translation's -----------------------------------


def ranking(ids: list[str], scores: list[float], dense: list[float]) -> Ranking:
    return Ranking(
        passage_ids=np.array(ids),
        document_ids=np.array([i.split("#")[0] for i in ids]),
        scores=np.array(scores, dtype=np.float32),
        parts={"dense": np.array(dense, dtype=np.float32)},
        coverage=np.array(scores, dtype=np.float32),
    )


def test_fused_lists_fill_a_missing_key_with_the_lists_lowest_score() -> None:
    keys, fused = fuse_lists(
        [(np.array(["b", "a"]), np.array([2.0, 1.0])), (np.array(["c"]), np.array([5.0]))],
        [1.0, 1.0],
    )
    assert keys.tolist() == ["a", "b", "c"]
    # First list: a=1, b=2, c filled with 1; the second holds one key: no spread, zeros.
    assert fused.tolist() == pytest.approx([-(2**-0.5), 2**0.5, -(2**-0.5)])
    with pytest.raises(ValueError):
        fuse_lists([(keys, fused)], [0.5, 0.5])


def test_fused_rankings_follow_the_weights_and_keep_the_first_rankings_parts() -> None:
    original = ranking(["x#1", "z#1", "y#1"], [3.0, 2.5, 1.0], [0.3, 0.1, 0.2])
    translated = ranking(["z#1", "w#1", "y#1"], [9.0, 8.0, 1.0], [0.9, 0.8, 0.7])
    only_original = Ranking.fuse([original, translated], [1.0, 0.0], 2)
    assert only_original.passage_ids.tolist() == ["x#1", "z#1"]
    only_translated = Ranking.fuse([original, translated], [0.0, 1.0], 2)
    assert only_translated.passage_ids.tolist() == ["z#1", "w#1"]
    both = Ranking.fuse([original, translated], [0.5, 0.5], 4)
    assert both.passage_ids[0] == "z#1"  # near the top of both lists
    assert set(both.passage_ids.tolist()) == {"w#1", "x#1", "y#1", "z#1"}
    parts = dict(zip(both.passage_ids.tolist(), both.parts["dense"].tolist()))
    assert parts["z#1"] == pytest.approx(0.1) and parts["w#1"] == pytest.approx(0.8)
    assert dict(zip(both.passage_ids.tolist(), both.document_ids.tolist()))["w#1"] == "w"
