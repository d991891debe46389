"""Write examples/nimbus/manual/nimbus-router-manual.pdf, the demo's PDF source.

    pip install fpdf2 && python examples/make_manual_pdf.py

The PDF is committed; this script only documents how it was made. It has bookmarks
(one per section) so the PDF connector can cite sections with their page.
"""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

SECTIONS = [
    (
        "1 Getting started",
        [
            "The Nimbus R2 router connects to your modem or fibre box and creates your home Wi-Fi network. "
            "Everything is set up from the Nimbus app on a phone.",
            "1. Connect the blue WAN port of the router to your modem with the supplied cable.",
            "2. Plug in the power adapter and wait until the light blinks blue.",
            "3. Open the Nimbus app, tap Set up a new router and scan the QR code under the router.",
            "4. Choose a network name and a password of at least 12 characters.",
        ],
    ),
    (
        "2 Light colours",
        [
            "Solid blue: the router is online and working normally.",
            "Blinking blue: the router is starting or waiting for setup in the app.",
            "Blinking white: a factory reset is in progress; do not unplug the router.",
            "Solid orange: a firmware update is being installed. It takes about five minutes.",
            "Blinking red: there is no internet connection. Check the WAN cable and restart your modem.",
        ],
    ),
    (
        "3 Troubleshooting",
        [
            "Most connection problems are solved by restarting the modem first and the router second.",
            "If devices connect but pages do not load, open the app and run the connection test under Network. "
            "The test tells whether the problem is between the router and your provider or inside your home.",
            "If the router gets hot, make sure its vents are free and that it stands upright, away from other electronics.",
        ],
    ),
    (
        "4 Safety and warranty",
        [
            "Use only the supplied 12 V power adapter. Keep the router away from water and do not open its case.",
            "The router carries a two-year warranty against hardware defects. Damage from power surges, liquids or drops is not covered.",
        ],
    ),
    (
        "5 Technical specifications",
        [
            "Wi-Fi 6 (802.11ax), dual band 2.4 GHz and 5 GHz, up to 3000 Mbit/s combined.",
            "Ports: one 2.5 Gbit/s WAN port (blue), three 1 Gbit/s LAN ports, one USB-C port for power.",
            "Size: 120 x 120 x 180 mm. Weight: 520 g. Power use: 9 W typical.",
        ],
    ),
]


def main() -> None:
    pdf = FPDF()
    pdf.set_title("Nimbus R2 router - user manual")
    pdf.set_author("Nimbus (fictional example)")
    pdf.set_lang("en")
    pdf.set_auto_page_break(auto=True, margin=18)
    for i, (title, paragraphs) in enumerate(SECTIONS):
        if i % 2 == 0:
            pdf.add_page()
        pdf.start_section(title)
        pdf.set_font("Helvetica", "B", 16)
        pdf.multi_cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=11)
        for para in paragraphs:
            pdf.multi_cell(0, 6, para, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        pdf.ln(4)
    out = Path(__file__).parent / "nimbus" / "manual" / "nimbus-router-manual.pdf"
    out.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(out))
    print(out, out.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
