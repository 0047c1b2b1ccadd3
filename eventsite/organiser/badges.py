"""Name badges as a PDF: the label layouts, and the builder (badges in, PDF bytes out).

Each badge shows the person's name large (shrunk for long names, wrapped to two lines
before it would shrink below a floor), their affiliation and country, the event, and
the ticket's QR code with its code. The fonts ship in `fonts/` (see SOURCES.md there),
so Chinese, Japanese, Korean and Arabic names render on any server: fpdf2 picks the
font per run of text (fallback fonts) and shapes it with HarfBuzz (joining, right to
left), and embeds only the glyphs used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import segno
from flask_babel.speaklater import LazyString
from fpdf import FPDF
from PIL import Image

from eventsite.i18n import lazy_gettext as _l

FONTS = Path(__file__).resolve().parent / "fonts"
INCH = 25.4  # mm


@dataclass(frozen=True)
class Layout:
    """A sheet of badges: the paper, the grid, one card's size and the gaps, in mm.
    The grid is centred on the page."""

    label: LazyString
    paper: str  # fpdf2's page format
    page: tuple[float, float]
    columns: int
    rows: int
    card: tuple[float, float]
    gap: tuple[float, float] = (0.0, 0.0)

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    def positions(self) -> list[tuple[float, float]]:
        """The top-left corner of each card on a page, row by row."""
        (page_w, page_h), (card_w, card_h), (gap_x, gap_y) = self.page, self.card, self.gap
        left = (page_w - self.columns * card_w - (self.columns - 1) * gap_x) / 2
        top = (page_h - self.rows * card_h - (self.rows - 1) * gap_y) / 2
        return [
            (left + col * (card_w + gap_x), top + row * (card_h + gap_y))
            for row in range(self.rows)
            for col in range(self.columns)
        ]


A4 = (210.0, 297.0)
LETTER = (8.5 * INCH, 11 * INCH)

# The layouts offered, by the key the form sends. Cut along the light frame on plain
# paper, or print onto the label sheet of the same size.
LAYOUTS: dict[str, Layout] = {
    "a4-2x4": Layout(
        _l("A4, 8 badges of 90 × 55 mm (2 × 4)"), "A4", A4, 2, 4, (90.0, 55.0), (5.0, 5.0)
    ),
    "a4-3x3": Layout(
        _l("A4, 9 badges of 66 × 90 mm (3 × 3)"), "A4", A4, 3, 3, (66.0, 90.0), (3.0, 3.0)
    ),
    "letter-2x4": Layout(
        _l("Letter, 8 badges of 3⅜ × 2⅓ in (2 × 4, like Avery 5395)"),
        "Letter",
        LETTER,
        2,
        4,
        (3.375 * INCH, 7 / 3 * INCH),
        (0.31 * INCH, 0.2 * INCH),
    ),
    "letter-2x3": Layout(
        _l("Letter, 6 badges of 4 × 3 in (2 × 3, like Avery 5392)"),
        "Letter",
        LETTER,
        2,
        3,
        (4 * INCH, 3 * INCH),
    ),
}
DEFAULT_LAYOUT = "a4-2x4"


@dataclass(frozen=True)
class Badge:
    """What one badge shows; `qr_value` is the ticket's signed value (tickets.ticket_value)."""

    name: str
    affiliation: str
    country: str
    qr_value: str
    code: str


# Type sizes in points. A name is shrunk from NAME_MAX down to NAME_FLOOR on one line,
# then wrapped to two lines, and only then shrunk further, down to NAME_MIN (and cut
# with "…" if even that is too wide).
NAME_MAX = 28.0
NAME_FLOOR = 16.0
NAME_MIN = 9.0
DETAIL_MAX = 11.0
DETAIL_MIN = 7.0
SMALL = 7.5
LEADING = 1.2
PT = INCH / 72  # one point in mm
PAD = 4.0  # inner margin of a card, mm
QR_MASK = 2  # see _Writer.qr
QR_PIXELS = 4
MEASURE_AT = 10.0  # widths are measured once at this size and scaled (they are linear)
FUZZ = 1e-6  # mm: a size computed to fit exactly must not be cut by a rounding error


def _new_document(layout: Layout, title: str) -> FPDF:
    pdf = FPDF(unit="mm", format=layout.paper)
    pdf.set_auto_page_break(False)
    pdf.set_margin(0)
    pdf.set_title(title)
    pdf.set_creator("eventsite")
    pdf.add_font("noto", "", FONTS / "NotoSans-Regular.ttf")
    pdf.add_font("noto", "B", FONTS / "NotoSans-Bold.ttf")
    pdf.add_font("notoarabic", "", FONTS / "NotoSansArabic-Regular.ttf")
    pdf.add_font("notoarabic", "B", FONTS / "NotoSansArabic-Bold.ttf")
    pdf.add_font("notocjk", "", FONTS / "NotoSansCJKsc-Regular-subset.otf")
    # Per run of text, the first font that has its glyphs; CJK has one weight for both.
    pdf.set_fallback_fonts(["notoarabic", "notocjk"], exact_match=False)
    return pdf


# Text made only of these needs no shaping engine: one glyph a character, left to right
# (Latin, Greek and Cyrillic precomposed, punctuation, CJK, Hangul syllables). Shaping it
# anyway costs four times as much (0.55 ms a line instead of 0.13, `make bench`); Arabic,
# combining marks and every other script go through HarfBuzz.
_SIMPLE = re.compile(
    "[\u0020-\u007e\u00a0-\u02ff\u0370-\u052f\u1e00-\u1fff\u2000-\u206f"
    "\u20a0-\u20cf\u2100-\u214f\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff"
    "\uff00-\uffef]*"
)


def _needs_shaping(text: str) -> bool:
    return _SIMPLE.fullmatch(text) is None


class _Writer:
    """Draws badges on one document, measuring each text once per style."""

    def __init__(self, pdf: FPDF) -> None:
        self.pdf = pdf
        self._widths: dict[tuple[str, str], float] = {}

    def _set(self, text: str, style: str, size: float) -> None:
        self.pdf.set_font("noto", style, size)
        # fpdf2 2.8 believes the font is still set after a line that ended in a fallback
        # font (an Arabic affiliation), and writes the next line in the wrong font.
        self.pdf.current_font_is_set_on_page = False
        self.pdf.set_text_shaping(_needs_shaping(text))

    def width(self, text: str, style: str, size: float) -> float:
        """The width of `text` in mm at `size` points."""
        key = (text, style)
        if key not in self._widths:
            self._set(text, style, MEASURE_AT)
            self._widths[key] = self.pdf.get_string_width(text)
        return self._widths[key] * size / MEASURE_AT

    def cut(self, text: str, style: str, size: float, width: float) -> str:
        """`text`, cut short with "…" when it is wider than `width`."""
        if self.width(text, style, size) <= width + FUZZ:
            return text
        low, high = 0, len(text)
        while low < high:  # the longest prefix that fits with the ellipsis
            mid = (low + high + 1) // 2
            if self.width(text[:mid].rstrip() + "…", style, size) <= width + FUZZ:
                low = mid
            else:
                high = mid - 1
        return text[:low].rstrip() + "…"

    def fit_line(self, text: str, style: str, largest: float, smallest: float, width: float):
        """The largest size (down to `smallest`) at which `text` fits, and the text (cut
        when it does not fit even then)."""
        at_largest = self.width(text, style, largest)
        size = largest if at_largest <= width else max(smallest, largest * width / at_largest)
        return size, self.cut(text, style, size, width)

    def fit_name(self, name: str, width: float, height: float) -> tuple[float, list[str]]:
        """The name's size and lines in a box of `width` × `height` mm."""
        largest = min(NAME_MAX, height / (LEADING * PT))
        one_line = self.width(name, "B", largest)
        size = largest if one_line <= width else largest * width / one_line
        if size >= NAME_FLOOR or " " not in name.strip():
            size = max(size, NAME_MIN)
            return size, [self.cut(name, "B", size, width)]
        lines = self._two_lines(name)
        widest = max(self.width(line, "B", 1.0) for line in lines)
        size = min(largest, width / widest, height / (2 * LEADING * PT))
        size = max(size, NAME_MIN)
        return size, [self.cut(line, "B", size, width) for line in lines]

    def _two_lines(self, name: str) -> list[str]:
        """The name split at the space that makes its longer line shortest."""
        words = name.split()
        splits = [(" ".join(words[:i]), " ".join(words[i:])) for i in range(1, len(words))]
        return list(
            min(splits, key=lambda s: max(self.width(s[0], "B", 1.0), self.width(s[1], "B", 1.0)))
        )

    def text(self, x: float, y: float, width: float, text: str, style: str, size: float) -> None:
        """One line, centred in `width`, its box starting at `y`."""
        self._set(text, style, size)
        self.pdf.set_xy(x, y)
        self.pdf.cell(width, size * LEADING * PT, text, align="C")

    def qr(self, x: float, y: float, size: float, value: str) -> None:
        """The QR code as a grey-scale image of QR_PIXELS pixels a module, so that viewers
        and printers that smooth scaled images keep its edges sharp."""
        # segno's automatic mask tries all eight (about 10 ms a code, most of the time of
        # 1,000 badges); any mask reads the same, so badges use one. An image costs less
        # than drawing each run of modules as a rectangle (2 ms a code), and an 8-bit one
        # less than fpdf2's transcoding of a 1-bit one. Figures: `make bench` (badges).
        matrix = segno.make_qr(value, error="m", mask=QR_MASK).matrix
        n = len(matrix)
        modules = Image.frombytes(
            "L", (n, n), bytes(0 if dark else 255 for row in matrix for dark in row)
        )
        side = n * QR_PIXELS
        self.pdf.image(modules.resize((side, side), Image.Resampling.NEAREST), x, y, size, size)

    def badge(self, x: float, y: float, w: float, h: float, event_title: str, badge: Badge):
        pdf = self.pdf
        pdf.set_draw_color(200)
        pdf.set_line_width(0.2)
        pdf.rect(x, y, w, h)  # the cutting frame
        inner = w - 2 * PAD
        pdf.set_text_color(70)
        title_h = SMALL * LEADING * PT
        self.text(x + PAD, y + PAD, inner, self.cut(event_title, "", SMALL, inner), "", SMALL)

        # Landscape cards: affiliation and country beside the QR code; portrait ones:
        # under the name, the QR code centred at the bottom.
        landscape = w > h
        qr_size = min(h * 0.34, w * 0.32) if landscape else min(h * 0.3, w * 0.45)
        code_h = SMALL * LEADING * PT
        qr_y = y + h - PAD - code_h - qr_size
        qr_x = x + w - PAD - qr_size if landscape else x + (w - qr_size) / 2
        detail_h = 2 * DETAIL_MAX * LEADING * PT
        name_top = y + PAD + title_h + 1.5
        name_bottom = qr_y - 1.5 if landscape else qr_y - 2 - detail_h
        name_h = name_bottom - name_top
        size, lines = self.fit_name(badge.name, inner, name_h)
        line_h = size * LEADING * PT
        pdf.set_text_color(0)
        top = name_top + (name_h - line_h * len(lines)) / 2
        for i, line in enumerate(lines):
            self.text(x + PAD, top + i * line_h, inner, line, "B", size)

        if landscape:
            detail_x, detail_w, detail_y = x + PAD, inner - qr_size - 2, qr_y + 2
        else:
            detail_x, detail_w, detail_y = x + PAD, inner, name_bottom
        pdf.set_text_color(40)
        for text in (badge.affiliation, badge.country):
            if text:
                size, text = self.fit_line(text, "", DETAIL_MAX, DETAIL_MIN, detail_w)
                self.text(detail_x, detail_y, detail_w, text, "", size)
                detail_y += size * LEADING * PT

        self.qr(qr_x, qr_y, qr_size, badge.qr_value)
        pdf.set_text_color(0)
        self.text(qr_x - 4, qr_y + qr_size, qr_size + 8, badge.code, "", SMALL)


def build_pdf(event_title: str, badges: list[Badge], layout: Layout) -> bytes:
    """The badges in the order given, `layout.per_page` to a page."""
    pdf = _new_document(layout, event_title)
    writer = _Writer(pdf)
    positions = layout.positions()
    card_w, card_h = layout.card
    for i, badge in enumerate(badges):
        if i % layout.per_page == 0:
            pdf.add_page()
        x, y = positions[i % layout.per_page]
        writer.badge(x, y, card_w, card_h, event_title, badge)
    return bytes(pdf.output())
