"""PDFs drawn with reportlab and DejaVu (a Cyrillic TTF), each reproducing one thing real
Russian PDFs do: Word's overprinted bold, two columns, line-end hyphens, running headers."""

from __future__ import annotations

import io
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
REGULAR, BOLD = "DejaVuSans", "DejaVuSans-Bold"
WIDTH, HEIGHT = A4
LEFT = 56.0
LEADING = 15.0


def fonts_available() -> bool:
    return (FONT_DIR / f"{REGULAR}.ttf").exists() and (FONT_DIR / f"{BOLD}.ttf").exists()


def _register() -> None:
    registered = pdfmetrics.getRegisteredFontNames()
    for name in (REGULAR, BOLD):
        if name not in registered:
            font = TTFont(name, str(FONT_DIR / f"{name}.ttf"))
            # Word embeds Symbol/Wingdings with their glyphs at U+F0xx, so the text layer
            # says U+F0B7 for "•". Same here: DejaVu's bullet and square answer there too.
            cmap = font.face.charToGlyph
            cmap.setdefault(0xF0B7, cmap[0x2022])
            cmap.setdefault(0xF0A7, cmap[0x25AA])
            pdfmetrics.registerFont(font)


def _pdf(draw, *, title: str | None = None, encrypt=None) -> bytes:
    """Run `draw(canvas)` on a fresh A4 canvas and return the PDF bytes."""
    _register()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, encrypt=encrypt)
    if title is not None:
        c.setTitle(title)
    draw(c)
    c.save()
    return buf.getvalue()


def _lines(c, lines, *, x=LEFT, top=780.0, font=REGULAR, size=11.0) -> float:
    """Draw lines downwards from `top`; return the baseline after the last one."""
    c.setFont(font, size)
    y = top
    for line in lines:
        c.drawString(x, y, line)
        y -= LEADING
    return y


# --- the fixtures: each returns (bytes, what kb must read) -------------------------------------

def overprinted_bold() -> tuple[bytes, list[str]]:
    """A bold heading drawn twice, 0.3 pt apart (Word's fake bold), above plain text."""
    heading = "ОБЩЕСТВЕННО-ПОЛИТИЧЕСКАЯ СИТУАЦИЯ"
    body = ["Год выдался напряжённым для гражданского общества.", "Работа продолжалась в Бишкеке и Оше."]

    def draw(c):
        c.setFont(BOLD, 14)
        c.drawString(LEFT, 780, heading)
        c.drawString(LEFT + 0.3, 780.2, heading)
        _lines(c, body, top=755)
        c.showPage()

    return _pdf(draw), [heading + "\n" + "\n".join(body)]


TWO_COLUMN_HEADING = "ДОСТУП К ПРАВОСУДИЮ В РЕГИОНАХ КЫРГЫЗСТАНА"
LEFT_COLUMN = [
    "Левая колонка начинается здесь,",
    "и её строки идут одна за другой",
    "до самого низа первой колонки,",
    "не перемешиваясь со строками",
    "соседней колонки справа, даже",
    "когда их базовые линии совпадают.",
    "Это последняя строка слева.",
]
RIGHT_COLUMN = [
    "Правая колонка читается после",
    "левой: сначала весь текст слева,",
    "потом весь текст справа, как",
    "читает человек, а не поперёк",
    "страницы через промежуток",
    "между колонками.",
    "Это последняя строка справа.",
]


def two_columns(right_drop: float = 0.0) -> tuple[bytes, list[str]]:
    """A full-width centred heading over two columns; their lines share baselines unless
    the right column is dropped by `right_drop` pt."""

    def draw(c):
        c.setFont(BOLD, 14)
        c.drawCentredString(WIDTH / 2, 790, TWO_COLUMN_HEADING)
        _lines(c, LEFT_COLUMN, x=LEFT, top=760)
        _lines(c, RIGHT_COLUMN, x=WIDTH / 2 + 20, top=760 - right_drop)
        c.showPage()

    text = "\n".join([TWO_COLUMN_HEADING, *LEFT_COLUMN, *RIGHT_COLUMN])
    return _pdf(draw), [text]


ONE_COLUMN = [
    "Статья 1. Отношения, регулируемые гражданским законодательством",
    "1. Гражданское законодательство определяет правовое положение",
    "участников гражданского оборота, основания возникновения и порядок",
    "осуществления права собственности и других вещных прав.",
    "2. Отношения, связанные с осуществлением и защитой неотчуждаемых",
    "прав и свобод человека, регулируются гражданским законодательством,",
    "если иное не вытекает из существа этих нематериальных благ.",
    "Президент                                        А. Акаев",
]


def one_column() -> tuple[bytes, list[str]]:
    """Plain one-column text, short paragraph ends and a signature line with a wide gap."""

    def draw(c):
        _lines(c, ONE_COLUMN[:-1])
        c.drawString(LEFT, 600, "Президент")
        c.drawString(400, 600, "А. Акаев")
        c.showPage()

    expected = "\n".join(ONE_COLUMN[:-1] + ["Президент А. Акаев"])
    return _pdf(draw), [expected]


def hyphenated() -> tuple[bytes, list[str]]:
    """Words broken at line ends: one a hyphenation (joins), one a real compound (keeps the hyphen)."""
    lines = [
        "Парламент Республики Кыргыз-",
        "стан принял закон о некоммерческих",
        "организациях. Общественно-",
        "политическая ситуация осложнилась.",
    ]

    def draw(c):
        _lines(c, lines)
        c.showPage()

    expected = (
        "Парламент Республики Кыргызстан\n"
        "принял закон о некоммерческих\n"
        "организациях. Общественно-политическая\n"
        "ситуация осложнилась."
    )
    return _pdf(draw), [expected]


RUNNING_HEADER = "Международный центр «Интербилим» · Годовой отчёт 2019"
BODIES = [
    ["Введение к отчёту о деятельности центра.", "Центр работает с некоммерческими организациями."],
    ["Правовая помощь оказывалась бесплатно.", "Юристы приняли сотни обращений граждан."],
    ["Мониторинг законодательства продолжался.", "Поправки к закону обсуждались публично."],
    ["Финансовый отчёт приведён в приложении.", "Аудит подтвердил достоверность данных."],
]


def running_headers() -> tuple[bytes, list[str]]:
    """Four pages with the same header on top and the page number (styled two ways) at the bottom."""

    def draw(c):
        for n, body in enumerate(BODIES, start=1):
            c.setFont(REGULAR, 9)
            c.drawString(LEFT, 810, RUNNING_HEADER)
            _lines(c, body, top=770)
            c.setFont(REGULAR, 9)
            c.drawCentredString(WIDTH / 2, 30, str(n) if n % 2 else f"– {n} –")
            c.showPage()

    return _pdf(draw), ["\n".join(b) for b in BODIES]


def pua_bullets() -> tuple[bytes, list[str]]:
    """Word's Symbol/Wingdings bullets come out as private-use code points U+F0B7, U+F0A7."""
    items = [("\uf0b7", "защита прав человека;"), ("\uf0a7", "доступ к жилью.")]

    def draw(c):
        y = _lines(c, ["Направления работы:"])
        for bullet, text in items:
            c.drawString(LEFT, y, bullet)
            c.drawString(LEFT + 18, y, text)
            y -= LEADING
        c.showPage()

    return _pdf(draw), ["Направления работы:\n• защита прав человека;\n• доступ к жилью."]


def page_without_text() -> tuple[bytes, list[str]]:
    """Three pages; the middle one has only a drawing, like a scan without a text layer."""

    def draw(c):
        _lines(c, ["Первая страница с текстом."])
        c.showPage()
        c.setFillGray(0.5)
        c.rect(100, 300, 300, 400, fill=1)
        c.showPage()
        _lines(c, ["Третья страница с текстом."])
        c.showPage()

    return _pdf(draw), ["Первая страница с текстом.", "", "Третья страница с текстом."]


def with_title(title: str) -> bytes:
    def draw(c):
        _lines(c, ["Текст документа."])
        c.showPage()

    return _pdf(draw, title=title)


def encrypted(user_password: str = "secret", owner_password: str = "owner") -> bytes:
    from reportlab.lib.pdfencrypt import StandardEncryption

    def draw(c):
        _lines(c, ["Секретный текст."])
        c.showPage()

    return _pdf(draw, encrypt=StandardEncryption(user_password, owner_password, canPrint=0, canCopy=0))


def jpeg_bytes() -> bytes:
    """The first bytes of a JPEG (JFIF): enough for a file that only pretends to be a PDF."""
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 200 + b"\xff\xd9"


def superscripts() -> tuple[bytes, list[str]]:
    """`Статья 193` with a raised small `1` (article 193.1), and `м` with a raised `2` (m²)."""

    def draw(c):
        c.setFont(REGULAR, 11)
        c.drawString(LEFT, 780, "Статья 193")
        x = LEFT + c.stringWidth("Статья 193", REGULAR, 11)
        c.setFont(REGULAR, 7)
        c.drawString(x, 784, "1")
        c.setFont(REGULAR, 11)
        c.drawString(x + c.stringWidth("1", REGULAR, 7), 780, ". Недействительность сделки")
        c.drawString(LEFT, 765, "площадь 20 м")
        x = LEFT + c.stringWidth("площадь 20 м", REGULAR, 11)
        c.setFont(REGULAR, 7)
        c.drawString(x, 769, "2")

    return _pdf(draw), ["Статья 193.1. Недействительность сделки", "площадь 20 м2"]


# --- narrow gutters, three columns, centred page numbers (issue 12) ------------------------------

COLUMN_TEXT = [
    "Мониторинг показал, что жильцы многоквартирных домов редко знают свои права "
    "и обязанности по содержанию общего имущества.",
    "Большинство обращений касалось отключения отопления, споров с управляющими "
    "компаниями и начисления платы за капитальный ремонт.",
    "Юристы центра помогли составить жалобы и претензии, а часть споров удалось "
    "решить без обращения в суд.",
    "В сельских районах главной проблемой остаётся оформление прав на землю "
    "и жилые дома, построенные много лет назад.",
    "Айыл өкмөтү выдаёт справки, но жители не всегда знают, куда обращаться "
    "после отказа в регистрации.",
    "Отчёт завершается рекомендациями для местных органов власти и для самих "
    "некоммерческих организаций.",
]


def _wrap(c, text: str, width: float, size: float) -> list[str]:
    lines, cur = [], ""
    for w in text.split():
        trial = f"{cur} {w}".strip()
        if cur and c.stringWidth(trial, REGULAR, size) > width:
            lines.append(cur)
            cur = w
        else:
            cur = trial
    return lines + ([cur] if cur else [])


def _justified(c, paragraphs: list[str], x: float, width: float, top: float, size: float = 10.0) -> list[str]:
    """Paragraphs set flush on both sides in a column of `width` (the gutter stays as narrow
    as drawn); returns the lines in reading order."""
    c.setFont(REGULAR, size)
    y, drawn = top, []
    for para in paragraphs:
        lines = _wrap(c, para, width, size)
        for i, line in enumerate(lines):
            words = line.split()
            if i == len(lines) - 1 or len(words) == 1:
                c.drawString(x, y, line)
            else:
                ink = sum(c.stringWidth(w, REGULAR, size) for w in words)
                gap = (width - ink) / (len(words) - 1)
                xx = x
                for w in words:
                    c.drawString(xx, y, w)
                    xx += c.stringWidth(w, REGULAR, size) + gap
            drawn.append(line)
            y -= size * 1.3
    return drawn


def columns(n: int, gutter: float, split: list[int], *, heading: str | None = None,
            page_numbers: bool = True, pages: int = 2, running: str | None = None) -> tuple[bytes, list[str]]:
    """`pages` pages of `n` columns `gutter` pt apart; column k holds COLUMN_TEXT[split[k]:split[k+1]]
    (uneven lengths), a centred `- N -` at the foot of each page, an optional heading above,
    an optional running header (not expected in the text)."""
    left, right = LEFT, WIDTH - LEFT
    width = (right - left - (n - 1) * gutter) / n
    expected: list[str] = []

    def draw(c):
        for page in range(1, pages + 1):
            out = []
            top = 780.0
            if running:
                c.setFont(REGULAR, 8)
                c.drawString(LEFT, 812, running)
            if heading:
                c.setFont(BOLD, 13)
                c.drawCentredString(WIDTH / 2, top, heading)
                out.append(heading)
                top -= 30
            text = COLUMN_TEXT[page - 1:] + COLUMN_TEXT[:page - 1]   # pages differ: nothing else repeats
            for k in range(n):
                paras = text[split[k]:split[k + 1]]
                out += _justified(c, paras, left + k * (width + gutter), width, top)
            if page_numbers:
                c.setFont(REGULAR, 10)
                c.drawCentredString(WIDTH / 2, 40, f"- {page} -")
            expected.append("\n".join(out))
            c.showPage()

    data = _pdf(draw)
    return data, expected


def two_narrow_columns() -> tuple[bytes, list[str]]:
    """Two columns 25 pt apart, the left one longer, a heading above both."""
    return columns(2, 25.0, [0, 4, 6], heading="ЖИЛИЩНЫЕ ПРАВА: ИТОГИ МОНИТОРИНГА")


def three_columns() -> tuple[bytes, list[str]]:
    """Three columns 18 pt apart, of uneven lengths."""
    return columns(3, 18.0, [0, 3, 5, 6])


# --- a report page whose columns nearly touch; pages that only look like columns (issue 28) --------------

REPORT_TITLE = "ОТЧЁТ ОБЩЕСТВЕННОГО ФОНДА «ПРАВО НА ЖИЛЬЁ» ЗА 2025 ГОД: ИТОГИ И ВЫВОДЫ"
REPORT_FOOTER = "Общественный фонд «Право на жильё» · г. Бишкек, ул. Киевская, 100 · тел. +996 312 00 00 00"
REPORT_TEXT = [
    "В отчётном году фонд принял больше восьмисот обращений граждан, и почти половина из них "
    "касалась выселения из общежитий и служебных квартир.",
    "Юристы фонда консультировали заявителей бесплатно, готовили исковые заявления и представляли "
    "интересы малоимущих семей в районных судах.",
    "Особое внимание уделялось регистрации по месту жительства: без неё внутренние мигранты не могут "
    "получить пособия, медицинскую помощь и место в школе.",
    "Совместно с органами местного самоуправления проведены приёмы в новостройках, где жители годами "
    "ждут оформления прав собственности на квартиры.",
    "Мониторинг решений судов показал, что арендаторы редко знают о сохранении договора найма при "
    "продаже квартиры новому собственнику.",
    "В следующем году фонд намерен расширить работу в Оше и Джалал-Абаде и подготовить памятку о "
    "правах нанимателей жилых помещений.",
]


def narrow_report(gutter: float = 4.0, *, ragged: bool = False, size: float = 10.0) -> tuple[bytes, list[str]]:
    """One report page: a bold title across the page, two columns `gutter` pt apart, a full-width
    footer. Justified, every left line ends `gutter` pt before the right column. Ragged, the
    columns are set flush left and the right one starts `gutter` pt after the longest left line,
    so that one line's last word nearly touches it while the others end well short."""
    width = (WIDTH - 2 * LEFT - (gutter if not ragged else 12.0)) / 2
    left_paras, right_paras = REPORT_TEXT[:3], REPORT_TEXT[3:]
    out: list[str] = []

    def draw(c):
        c.setFont(BOLD, 11)
        c.drawCentredString(WIDTH / 2, 790, REPORT_TITLE)
        out.append(REPORT_TITLE)
        top = 760.0
        if ragged:
            left_lines = [ln for p in left_paras for ln in _wrap(c, p, width, size)]
            right_lines = [ln for p in right_paras for ln in _wrap(c, p, width, size)]
            longest = max(c.stringWidth(ln, REGULAR, size) for ln in left_lines)
            c.setFont(REGULAR, size)
            for k, lines in enumerate((left_lines, right_lines)):
                x = LEFT + k * (longest + gutter)
                for i, ln in enumerate(lines):
                    c.drawString(x, top - i * size * 1.3, ln)
                out.extend(lines)
        else:
            out.extend(_justified(c, left_paras, LEFT, width, top, size))
            out.extend(_justified(c, right_paras, LEFT + width + gutter, width, top, size))
        c.setFont(REGULAR, 8)
        c.drawCentredString(WIDTH / 2, 40, REPORT_FOOTER)
        out.append(REPORT_FOOTER)
        c.showPage()

    data = _pdf(draw)
    return data, ["\n".join(out)]


def narrow_report_with_list(gutter: float = 4.0, size: float = 10.0) -> tuple[bytes, list[str]]:
    """A bold heading over a justified left column; the right column, `gutter` pt away, a list
    whose bullets stand at its edge and whose text hangs 12 pt in (the white strip between
    bullets and text is no gutter)."""
    width = (WIDTH - 2 * LEFT - gutter) / 2
    heading = "Основные итоги года"
    out: list[str] = []

    def draw(c):
        top = 780.0
        c.setFont(BOLD, size)
        c.drawString(LEFT, top, heading)
        out.append(heading)
        out.extend(_justified(c, REPORT_TEXT[:3], LEFT, width, top - size * 1.3, size))
        x, y = LEFT + width + gutter, top
        c.setFont(REGULAR, size)
        for para in REPORT_TEXT[3:]:
            lines = _wrap(c, para, width - 12, size)
            c.drawString(x, y, "•")
            for line in lines:
                c.drawString(x + 12, y, line)
                y -= size * 1.3
            out.extend(["• " + lines[0], *lines[1:]])
        c.showPage()

    data = _pdf(draw)
    return data, ["\n".join(out)]


TABLE_ROWS = [
    ("Направление работы", "Обращений", "Решено"),
    ("Выселение из общежитий", "214", "131"),
    ("Регистрация по месту жительства", "187", "152"),
    ("Оплата коммунальных услуг", "126", "98"),
    ("Аренда и наём жилья", "97", "61"),
    ("Приватизация квартир", "64", "40"),
    ("Споры с соседями", "41", "22"),
    ("Иные вопросы", "73", "55"),
]


def one_column_table() -> tuple[bytes, list[str]]:
    """One column of text with a three-column table between paragraphs; the table has more rows
    than the text around it, and its cells are left-aligned: a row must stay one line."""
    before = ["Распределение обращений по темам за отчётный год приведено в таблице ниже."]
    after = ["Большинство споров решено до суда."]

    def draw(c):
        y = _lines(c, before, size=10)
        c.setFont(REGULAR, 10)
        for row in TABLE_ROWS:
            for x, cell in zip((LEFT, 300.0, 400.0), row):
                c.drawString(x, y, cell)
            y -= LEADING
        _lines(c, after, top=y, size=10)
        c.showPage()

    return _pdf(draw), ["\n".join(before + [" ".join(r) for r in TABLE_ROWS] + after)]


FORM_ROWS = [
    ("Наименование:", "Общественный фонд «Право на жильё»"),
    ("Дата регистрации:", "12 марта 2019 года"),
    ("Регистрационный номер:", "0123-3301-ОФ"),
    ("Руководитель:", "Асанова Айгуль Бакытовна"),
    ("Адрес:", "г. Бишкек, ул. Киевская, 100"),
    ("Телефон:", "+996 312 00 00 00"),
    ("Сотрудников:", "12 человек"),
]


def one_column_wide_gaps() -> tuple[bytes, list[str]]:
    """A one-column page with wide gaps that line up: labels and values at a tab stop, then
    justified lines of a few long words whose spaces stretch to 20-40 pt."""
    loose = [
        "Правозащитные некоммерческие организации Кыргызстана",
        "систематически консультируют малообеспеченных граждан",
        "относительно жилищных, земельных и наследственных",
        "правоотношений, возникающих между собственниками,",
        "нанимателями, арендаторами, застройщиками и органами",
        "государственной власти, местного самоуправления.",
    ]

    def draw(c):
        c.setFont(REGULAR, 10)
        y = 780.0
        for label, value in FORM_ROWS:
            c.drawString(LEFT, y, label)
            c.drawString(220.0, y, value)
            y -= LEADING
        y -= LEADING
        right = WIDTH - LEFT
        for line in loose:
            words = line.split()
            ink = sum(c.stringWidth(w, REGULAR, 10) for w in words)
            gap = (right - LEFT - ink) / (len(words) - 1)
            x = LEFT
            for w in words:
                c.drawString(x, y, w)
                x += c.stringWidth(w, REGULAR, 10) + gap
            y -= LEADING
        c.showPage()

    return _pdf(draw), ["\n".join([" ".join(r) for r in FORM_ROWS] + loose)]


def one_column_text(words: list[str], seed: int) -> tuple[bytes, list[str]]:
    """A page of one column of real text, in a size, width and setting (justified or ragged)
    chosen by `seed`: loose justified lines and short paragraph ends make rivers and gaps."""
    import random

    rng = random.Random(seed)
    size = rng.choice([8.0, 9.0, 10.0, 11.0, 12.0])
    width = rng.choice([200.0, 260.0, 320.0, 400.0, 483.0])
    justified = rng.random() < 0.6
    pos = rng.randrange(len(words) - 1000)
    out: list[str] = []

    def draw(c):
        nonlocal pos
        y = 790.0
        while y > 120:
            k = rng.randint(8, 120)
            para = " ".join(words[pos:pos + k])
            pos += k
            if justified:
                lines = _justified(c, [para], LEFT, width, y, size)
            else:
                c.setFont(REGULAR, size)
                lines = _wrap(c, para, width, size)
                for i, line in enumerate(lines):
                    c.drawString(LEFT, y - i * size * 1.3, line)
            out.extend(lines)
            y -= size * 1.3 * (len(lines) + 0.5)
        c.showPage()

    data = _pdf(draw)
    return data, ["\n".join(out)]


def table_page(words: list[str], seed: int) -> tuple[bytes, list[str]]:
    """A one-column page holding a table chosen by `seed`: 2-4 left-aligned columns of one to
    four words or a number, 5-14 rows, up to three lines of text above. Each row must read
    as one line."""
    import random

    rng = random.Random(seed)
    xs = [LEFT]
    for _ in range(rng.randint(1, 3)):
        xs.append(xs[-1] + rng.randint(90, 170))
    rows = []
    for _ in range(rng.randint(5, 14)):
        row = []
        for k in range(len(xs)):
            room = (xs[k + 1] - xs[k] - 10) if k + 1 < len(xs) else 120
            if k and rng.random() < 0.3:
                cell = str(rng.randint(1, 999))
            else:
                cell = " ".join(rng.choice(words) for _ in range(rng.randint(1, 4)))
                while " " in cell and len(cell) * 6 > room:
                    cell = cell.rsplit(" ", 1)[0]
                cell = cell[: int(room / 6)]
            row.append(cell)
        rows.append(row)
    above = [" ".join(rng.choice(words) for _ in range(9)) for _ in range(rng.randint(0, 3))]

    def draw(c):
        c.setFont(REGULAR, 10)
        y = 780.0
        for line in above:
            c.drawString(LEFT, y, line)
            y -= LEADING
        for row in rows:
            for x, cell in zip(xs, row):
                c.drawString(x, y, cell)
            y -= LEADING
        c.showPage()

    return _pdf(draw), ["\n".join(above + [" ".join(r) for r in rows])]
