"""Personal-data redaction: what must go, and the support-text numbers that must stay."""

from __future__ import annotations

import time

import pytest

from srmkb.redaction import KINDS, PLACEHOLDERS, redact, redact_with_counts

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
def test_personal_data_is_replaced_in_context(kind: str, value: str):
    text = f"Bonjour, here it is: {value}. Thanks!"
    out, counts = redact_with_counts(text)
    assert out == f"Bonjour, here it is: {PLACEHOLDERS[kind]}. Thanks!"  # type: ignore[index]
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


def test_card_fields_pasted_with_commas():
    assert redact("4970298446537001,12/27,123") == "[CARD],12/27,123"


def test_iban_stops_at_the_country_length():
    assert redact("IBAN FR76 3000 4000 0312 3456 7890 143 EUR") == "IBAN [IBAN] EUR"
    assert redact("GB29NWBK60161331926819 GBP") == "[IBAN] GBP"


def test_redaction_is_idempotent_and_keeps_empty_text():
    text = "Mail a@b.io, tel 06 12 34 56 78, card 4111 1111 1111 1111"
    once = redact(text)
    assert redact(once) == once
    assert redact("") == ""
    assert redact_with_counts("no numbers here") == ("no numbers here", {})


def test_kinds_restrict_what_is_redacted():
    text = "a@b.io 06 12 34 56 78"
    assert redact(text, kinds=["email"]) == "[EMAIL] 06 12 34 56 78"
    assert redact(text, kinds=["phone"]) == "a@b.io [PHONE]"
    assert set(KINDS) == set(PLACEHOLDERS)
    with pytest.raises(ValueError, match="ssn"):
        redact(text, kinds=["ssn"])  # type: ignore[list-item]


def test_long_runs_of_digits_do_not_backtrack_for_ever():
    texts = ["1 " * 5_000, "1-" * 5_000 + "x", "+3" + "3 " * 5_000 + "a", "FR76 " * 2_000]
    start = time.perf_counter()
    for text in texts:
        redact(text)
    assert time.perf_counter() - start < 2.0
