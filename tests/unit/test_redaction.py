"""Personal-data redaction: what must go, and the support-text numbers that must stay."""

from __future__ import annotations

import json
import random
import re
import time
import unicodedata
from pathlib import Path
from typing import Any, TypedDict

import phonenumbers
import pytest
from stdnum import iban, luhn
from stdnum.fr import nir

from srmkb.text.redaction import KINDS, PLACEHOLDERS, Kind, Redactor, redact, redact_with_counts

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "pii"

EMAILS = [
    "sarah.whitfield@gmail.com",
    "jean.dupont+wifi@orange.fr",
    "J.Moreau@Sub.Example.co.uk",
    "o'brien_l@icloud.com",
    "hugo.lefèvre@gmail.com",
]
PHONES = [
    "+33 6 12 34 56 78",
    "+33 (0)6 12 34 56 78",
    "+33612345678",
    "0033 6 12 34 56 78",
    "06 12 34 56 78",
    "06.12.34.56.78",
    "06-12-34-56-78",
    "0612345678",
    "06\u00a012\u00a034\u00a056\u00a078",  # no-break spaces, as French typography writes it
    "01 42 68 53 00",
    "(415) 555-0134",
    "415-555-0134",
    "415.555.0134",
    "415 555 0134",
    "1-800-555-0199",
    "+1 415 555 0199",
    "+1 (628) 555-0120",
    "+14155550134",
    "+44 20 7946 0958",
    "+44 (0)20 7946 0958",
    "020 7946 0958",
    "07700 900123",
    "+49 151 23456789",
    "030 1234567",
]
# Valid Luhn numbers in the usual print formats.
CARDS = [
    "4970 2984 4653 7001",
    "4970-2984-4653-7001",
    "4970298446537001",
    "5132 7089 3200 0761",
    "2223 0579 7303 4298",  # Mastercard 2-series
    "3714 825396 72858",  # American Express, 4-6-5
    "6011 4306 0830 3163",
    "4111111111111111",
]
# Valid mod-97 checksums, printed and electronic formats.
IBANS = [
    "FR76 3000 4000 0312 3456 7890 143",
    "FR14 2004 1010 0505 0001 3M02 606",
    "FR7630004000031234567890143",
    "fr76 3000 4000 0312 3456 7890 143",
    "DE44 5001 0517 5407 3249 31",
    "DE89370400440532013000",
    "GB29 NWBK 6016 1331 9268 19",
    "BE68 5390 0754 7034",
    "ES91 2100 0418 4502 0005 1332",
    "NL91ABNA0417164300",
]


@pytest.mark.parametrize(
    ("kind", "value"),
    [("email", v) for v in EMAILS]
    + [("phone", v) for v in PHONES]
    + [("card", v) for v in CARDS]
    + [("iban", v) for v in IBANS],
)
def test_personal_data_is_replaced_in_context(kind: Kind, value: str):
    text = f"Bonjour, here it is: {value}. Thanks!"
    out, counts = redact_with_counts(text)
    assert out == f"Bonjour, here it is: {PLACEHOLDERS[kind]}. Thanks!"
    assert counts == {kind: 1}


@pytest.mark.parametrize(
    "text",
    [
        "Opened 2026-03-14 at 10:32, closed 2026-03-14T11:05:00+01:00",
        "on 14/03/2026, 14.03.2026, 03/14/2026 and 2026/03/14",
        "order NB-2026-004512 and order #4471823, RMA 77120",
        "Case 00104801, Salesforce case 00123456, ticket 48213, CS-10482",
        "firmware 2.4.13 then 2.4.14, app v5.2.0, build 1.8.0.2201",
        "IP 192.168.1.1, gateway 10.0.0.138, WAN 100.64.12.7, 203.0.113.45",
        "MAC A4:2B:B0:11:22:33 and serial NMB-R2-7F3K9Q, SN NMB4K27X9102",
        "price €129.99, $1,299.00, 189,99 € and 1 299,00 €",
        "940 Mbps down, 300 Mbps up, 1 Gbps plan, channel 36, 2.4 GHz",
        "TXN 4471823990120457 fails Luhn; 5000987654321000 too",
        "1234567812345670 passes Luhn but starts with 1: not a payment card",
        "loss ratio 0.0612345678, build 2.06.12.34.56.78",
        "GB29 NWBK 6016 1331 9268 18 has a bad checksum",
        "UPS tracking 1Z999AA10123456784",
        "ids #0612345678 and NB-0612345678 are references, not phones",
        "years 2019-2026, postcode 75011, 10:30-12:00, 25% off, 4 x 4 = 16",
        "123-456-7890 has no valid North American area code",
    ],
)
def test_support_numbers_survive(text: str):
    assert redact(text) == text


def test_a_mixed_customer_message():
    text = (
        "Hi, I'm Sarah (sarah.whitfield@gmail.com). I was charged twice for order "
        "NB-2026-004701 ($129.00) on 2026-03-12 with my Visa 4970 2984 4653 7001. Refund it "
        "to FR76 3000 4000 0312 3456 7890 143 or call me on (415) 555-0134 / +33 6 12 34 56 78."
        " Router firmware 2.4.13, IP 192.168.1.1."
    )
    out, counts = redact_with_counts(text)
    assert out == (
        "Hi, I'm Sarah ([EMAIL]). I was charged twice for order NB-2026-004701 ($129.00) on "
        "2026-03-12 with my Visa [CARD]. Refund it to [IBAN] or call me on [PHONE] / [PHONE]."
        " Router firmware 2.4.13, IP 192.168.1.1."
    )
    assert counts == {"email": 1, "card": 1, "iban": 1, "phone": 2}


def test_numbers_next_to_each_other_are_split_at_the_card():
    assert redact("ref 12 4111 1111 1111 1111") == "ref 12 [CARD]"
    assert redact("0612345678 4111111111111111") == "[PHONE] [CARD]"
    assert redact("+33 6 12 34 56 78 2026-03-14") == "[PHONE] 2026-03-14"


def test_a_cards_expiry_and_code_go_with_it():
    # The expiry date and the security code were kept before issue #19; with the number
    # gone they identify nothing, but they are card data all the same.
    assert redact("4970298446537001,12/27,123") == "[CARD]"
    assert redact("4111 1111 1111 1111 exp 12/27 cvv 123, merci") == "[CARD], merci"
    assert redact("carte 4111 1111 1111 1111 exp. 12/27 crypto 123") == "carte [CARD]"
    # A date after the number is not an expiry date.
    assert redact("4111111111111111 12/27/2026") == "[CARD] 12/27/2026"


def test_iban_stops_at_the_country_length():
    assert redact("IBAN FR76 3000 4000 0312 3456 7890 143 EUR") == "IBAN [IBAN] EUR"
    assert redact("GB29NWBK60161331926819 GBP") == "[IBAN] GBP"


def test_rib_and_nir_have_their_own_placeholders():
    text = "RIB 30006 00001 12345678901 89, NIR 1 85 05 78 006 084 91"
    out, counts = redact_with_counts(text)
    assert out == "RIB [RIB], NIR [NIR]"
    assert counts == {"rib": 1, "nir": 1}
    # A wrong key is a typo or another number, not a RIB or a NIR.
    assert redact("30006 00001 12345678901 88 and 1 85 05 78 006 084 92") == (
        "30006 00001 12345678901 88 and 1 85 05 78 006 084 92"
    )


def test_only_the_personal_data_changes_in_the_original_text():
    # Detection reads a folded copy (NFKC, ASCII digits, no zero-width characters); every
    # character outside the personal data comes back exactly as it was.
    text = (
        "Prix\u00a0: 1\u202f299,00\u00a0€ — ｒéf. ＮＢ－２０２６ ;\u200b tél. ０６ １２ ３４ ５６ ７８ "
        "ou ٠٦ ١٢ ٣٤ ٥٦ ٧٨, mail jo\u200bhn\u00ad.doe＠exämple.fr ﬁn"
    )
    assert redact(text) == (
        "Prix\u00a0: 1\u202f299,00\u00a0€ — ｒéf. ＮＢ－２０２６ ;\u200b tél. [PHONE] "
        "ou [PHONE], mail [EMAIL] ﬁn"
    )


def test_redaction_is_idempotent_and_keeps_empty_text():
    text = "Mail a@b.io, tel 06 12 34 56 78, card 4111 1111 1111 1111, NIR 185057800608491"
    once = redact(text)
    assert redact(once) == once
    assert redact("") == ""
    assert redact_with_counts("no numbers here") == ("no numbers here", {})


def test_kinds_restrict_what_is_redacted():
    text = "a@b.io 06 12 34 56 78 30006 00001 12345678901 89"
    assert redact(text, kinds=["email"]) == "[EMAIL] 06 12 34 56 78 30006 00001 12345678901 89"
    assert redact(text, kinds=["phone"]) == "a@b.io [PHONE] 30006 00001 12345678901 89"
    assert redact(text, kinds=["rib"]) == "a@b.io 06 12 34 56 78 [RIB]"
    assert set(KINDS) == set(PLACEHOLDERS)
    assert all(p.startswith("[") and not re.search(r"[0-9@]", p) for p in PLACEHOLDERS.values())
    with pytest.raises(ValueError, match="ssn"):
        redact(text, kinds=["ssn"])  # type: ignore[list-item]


def test_the_callers_redactor_runs_after_the_built_in_detectors():
    seen: list[str] = []

    def names(text: str) -> str:
        seen.append(text)
        return text.replace("Sarah Whitfield", "[NAME]")

    redactor: Redactor = names
    text = "Sarah Whitfield, sarah.whitfield@gmail.com, 06 12 34 56 78"
    out, counts = redact_with_counts(text, redactor=redactor)
    assert out == "[NAME], [EMAIL], [PHONE]"
    assert seen == ["Sarah Whitfield, [EMAIL], [PHONE]"]
    assert counts == {"email": 1, "phone": 1}  # the caller's own are not counted
    assert redact("", redactor=lambda t: t + "!") == "!"
    assert redact("x", kinds=(), redactor=str.upper) == "X"


# --- the corpus -------------------------------------------------------------------------


class Case(TypedDict):
    id: str
    lang: str
    text: str
    pii: list[tuple[Kind, str]]  # (kind, the text that must become its placeholder), in order


class Keep(TypedDict):
    id: str
    text: str  # must come back unchanged


def _read(name: str) -> list[Any]:
    with open(CORPUS / name, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


VARIANTS: list[Case] = _read("redact.jsonl")
KEEP: list[Keep] = _read("keep.jsonl")


def _digits(text: str) -> str:
    """The digits of ``text`` in ASCII, whatever their script."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(str(d) for c in folded if (d := unicodedata.decimal(c, None)) is not None)


def test_the_corpus_is_large_and_uses_valid_numbers():
    assert len(VARIANTS) >= 200 and len(KEEP) >= 80
    assert {kind for case in VARIANTS for kind, _ in case["pii"]} == set(KINDS)
    for case in VARIANTS:
        for kind, span in case["pii"]:
            assert span in case["text"], case["id"]
            digits = _digits(span)
            if kind == "iban":
                letters = re.sub(r"[^0-9A-Za-z]", "", unicodedata.normalize("NFKC", span))
                assert iban.is_valid(letters, check_country=False), case["id"]
            elif kind == "nir":
                assert nir.is_valid(re.sub(r"[^0-9AB]", "", span)), case["id"]
            elif kind == "card":  # the number, then maybe an expiry date and a code
                assert any(luhn.is_valid(digits[:n]) for n in range(13, 20)), case["id"]
            elif kind == "phone":
                assert _a_phone(span, digits), case["id"]


def _a_phone(written: str, digits: str) -> bool:
    """Whether phonenumbers takes ``digits`` for a possible number, read as written."""
    plus = unicodedata.normalize("NFKC", written).lstrip("( ").startswith("+")
    for idd in ("00", "011"):
        if not plus and digits.startswith(idd):
            digits, plus = digits[len(idd) :], True
    candidates = [("+" + digits, None)] if plus else []
    candidates += [(digits, region) for region in ("FR", "BE", "CH", "GB", "DE", "US")]
    for number, region in candidates:
        try:
            if phonenumbers.is_possible_number(phonenumbers.parse(number, region)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


@pytest.mark.parametrize("case", VARIANTS, ids=[c["id"] for c in VARIANTS])
def test_corpus_personal_data_disappears_and_nothing_else(case: Case):
    text = expected = case["text"]
    pos = 0
    for kind, span in case["pii"]:
        start = expected.index(span, pos)
        expected = expected[:start] + PLACEHOLDERS[kind] + expected[start + len(span) :]
        pos = start + len(PLACEHOLDERS[kind])
    out, counts = redact_with_counts(text)
    assert out == expected
    assert sum(counts.values()) == len(case["pii"])
    # No number left in the output holds 8 digits in a row of the personal data.
    numbers = [_digits(n) for n in re.findall(r"\w+(?:[ .\-/]\w+)*", out)]
    for _, span in case["pii"]:
        digits = _digits(span)
        pieces = {digits[k : k + 8] for k in range(len(digits) - 7)}
        assert not any(piece in number for piece in pieces for number in numbers)


@pytest.mark.parametrize("case", KEEP, ids=[c["id"] for c in KEEP])
def test_corpus_ordinary_numbers_survive(case: Keep):
    assert redact(case["text"]) == case["text"]


def test_phone_policy_valid_or_possible_and_spaced():
    # phonenumbers calls the UK's drama range unallocated: possible, not valid. Spaced as a
    # number it is redacted; run together with no prefix, it could be anything.
    number = phonenumbers.parse("07700 900123", "GB")
    assert phonenumbers.is_possible_number(number) and not phonenumbers.is_valid_number(number)
    assert redact("07700 900123") == "[PHONE]"
    assert redact("+447700900123") == "[PHONE]"  # a + is a phone's
    # Run together with no prefix, over 11 digits: an order number more likely.
    assert redact("order 015123456789") == "order 015123456789"
    assert redact("0151 23456789") == "[PHONE]"


# --- linear time ------------------------------------------------------------------------

MB = 1_000_000
_rng = random.Random(19)
ADVERSARIAL = {
    "digits": "7" * MB,
    "spaced digits": "1 " * (MB // 2),
    "digit groups": " ".join(str(_rng.randrange(10**5)) for _ in range(MB // 6)),
    "dashed digits": "1-" * (MB // 2) + "x",
    "at signs": "@" * MB,
    "a@": "a@" * (MB // 2),
    "dotted domain": "a@" + "a." * (MB // 2),
    "junk": "".join(_rng.choice("0123456789 .-/()+@aZ\n,:#é\u00a0") for _ in range(MB)),
}


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_a_megabyte_of_adversarial_text_redacts_in_linear_time(name: str):
    # A generous bound for a loaded CI machine; benchmarks/redaction_speed.py has the speeds.
    start = time.perf_counter()
    redact(ADVERSARIAL[name])
    assert time.perf_counter() - start < 5.0


def test_long_runs_of_digits_do_not_backtrack_for_ever():
    texts = ["1 " * 5_000, "1-" * 5_000 + "x", "+3" + "3 " * 5_000 + "a", "FR76 " * 2_000]
    start = time.perf_counter()
    for text in texts:
        redact(text)
    assert time.perf_counter() - start < 2.0
