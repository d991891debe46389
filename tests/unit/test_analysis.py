from srmkb.analysis import Analyzer, analyzer_for


def test_english_stems_and_lowercases():
    an = analyzer_for("en")
    assert isinstance(an, Analyzer)
    assert an.analyze("Resetting the Routers") == ["reset", "the", "router"]


def test_unicode_words_and_punctuation():
    an = analyzer_for("en")
    assert an.analyze("Wi-Fi: 5GHz, café!") == ["wi", "fi", "5ghz", "café"]


def test_unknown_language_falls_back_to_english():
    assert analyzer_for("xx") is analyzer_for("en")
    assert analyzer_for(None) is analyzer_for("en")
