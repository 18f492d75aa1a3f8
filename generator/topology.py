"""A topology diagram per environment, as SVG text: pool and Front Ends, Exchange servers,
the autodiscover name and its record, and the two OAuth directions with their metadata URLs.

Pure function of the environment (deterministic, no clock, no I/O), so the same SVG serves
the site and the change-request PDF.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from generator.facts import Facts, derive

if TYPE_CHECKING:
    from generator.loading import LoadedEnvironment

WIDTH = 900
BOX_W = 300
ROW_H = 22
FONT = "DejaVu Sans, Verdana, sans-serif"
MONO = "DejaVu Sans Mono, Consolas, monospace"
LYNC_COLOUR = "#0969da"
EXCHANGE_COLOUR = "#8250df"


def _text(
    x: float,
    y: float,
    value: str,
    *,
    size: int = 13,
    anchor: str = "start",
    weight: str = "normal",
    mono: bool = False,
    fill: str = "#1b1f24",
    max_width: float = 0,
) -> str:
    family = MONO if mono else FONT
    # A long name is squeezed to fit rather than run out of its box (0.6 em: a mono glyph).
    fit = ""
    if max_width and len(value) * size * 0.6 > max_width:
        fit = f' textLength="{max_width:g}" lengthAdjust="spacingAndGlyphs"'
    return (
        f'<text x="{x:g}" y="{y:g}" font-family="{escape(family)}" font-size="{size}" '
        f'font-weight="{weight}" text-anchor="{anchor}" fill="{fill}"{fit}>{escape(value)}</text>'
    )


def _box(
    x: float, y: float, w: float, h: float, title: str, subtitle: str, rows: list[str], colour: str
) -> list[str]:
    parts = [
        f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" rx="8" fill="#ffffff" '
        f'stroke="{colour}" stroke-width="2"/>',
        f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="46" rx="8" fill="{colour}"/>',
        f'<rect x="{x:g}" y="{y + 38:g}" width="{w:g}" height="8" fill="{colour}"/>',
        _text(x + w / 2, y + 20, title, size=14, anchor="middle", weight="bold", fill="#ffffff"),
        _text(
            x + w / 2,
            y + 38,
            subtitle,
            size=12,
            anchor="middle",
            mono=True,
            fill="#ffffff",
            max_width=w - 20,
        ),
    ]
    for i, row in enumerate(rows):
        parts.append(_text(x + 14, y + 70 + i * ROW_H, row, size=12, mono=True, max_width=w - 28))
    return parts


def _arrow(x1: float, x2: float, y: float, colour: str) -> str:
    marker = "arrow-lync" if colour == LYNC_COLOUR else "arrow-exchange"
    return (
        f'<line x1="{x1:g}" y1="{y:g}" x2="{x2:g}" y2="{y:g}" stroke="{colour}" stroke-width="2.5" '
        f'marker-end="url(#{marker})"/>'
    )


def _key(x: float, y: float, colour: str) -> str:
    return f'<line x1="{x:g}" y1="{y:g}" x2="{x + 18:g}" y2="{y:g}" stroke="{colour}" stroke-width="3"/>'


def _markers() -> str:
    return (
        "<defs>"
        + "".join(
            f'<marker id="{marker}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
            f'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
            for marker, colour in (
                ("arrow-lync", LYNC_COLOUR),
                ("arrow-exchange", EXCHANGE_COLOUR),
                ("arrow", "#bf8700"),
            )
        )
        + "</defs>"
    )


def _autodiscover(facts: Facts, top: float) -> list[str]:
    """The autodiscover name and its DNS record, on top, pointing at Exchange."""
    mid, record = WIDTH / 2, facts.record
    exchange_x = WIDTH - 30 - BOX_W / 2
    return [
        f'<rect x="{mid - 250:g}" y="20" width="500" height="64" rx="8" fill="#fff8c5" stroke="#bf8700" stroke-width="1.5"/>',
        _text(
            mid,
            42,
            f"Autodiscover: {facts.autodiscover_host}",
            size=13,
            anchor="middle",
            weight="bold",
        ),
        _text(
            mid,
            64,
            f"DNS zone {record.zone}: {record.fqdn}  {record.type}  {record.data}",
            size=11,
            anchor="middle",
            mono=True,
            max_width=480,
        ),
        f'<path d="M{mid + 150:g},84 C{mid + 200:g},120 {exchange_x:g},110 {exchange_x:g},{top - 4:g}" '
        'fill="none" stroke="#bf8700" stroke-width="1.5" stroke-dasharray="5 4" marker-end="url(#arrow)"/>',
    ]


def _legend(facts: Facts, x: float, top: float) -> list[str]:
    """What each OAuth arrow means, with its metadata URL, where any length fits."""
    short = facts.lync_product["short"]
    rows = (
        (
            LYNC_COLOUR,
            f"OAuth: Exchange trusts {short} (partner application in Exchange), metadata:",
            facts.lync_metadata_url,
        ),
        (
            EXCHANGE_COLOUR,
            f"OAuth: {short} trusts Exchange (partner application in {short}), metadata:",
            facts.exchange_metadata_url,
        ),
    )
    parts = []
    for row, (colour, meaning, url) in enumerate(rows):
        y = top + 34 * row
        parts += [
            _key(x, y - 4, colour),
            _text(x + 26, y, meaning, size=12),
            _text(x + 26, y + 16, url, size=11, mono=True, max_width=WIDTH - x - 46),
        ]
    return parts


def topology_svg(
    name: str, pool: str, front_ends: tuple[str, ...], servers: tuple[str, ...], facts: Facts
) -> str:
    """The diagram of one environment as a standalone SVG document."""
    rows = max(len(front_ends), len(servers))
    box_h = 56 + rows * ROW_H + 8
    top = 150
    legend = top + box_h + 34
    height = legend + 66
    left_x, right_x = 30, WIDTH - 30 - BOX_W
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="topology-title-{name}">',
        f'<title id="topology-title-{name}">{escape(f"Topology of {name}")}</title>',
        _markers(),
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#f6f8fa"/>',
        *_autodiscover(facts, top),
    ]
    parts += _box(
        left_x, top, BOX_W, box_h, facts.lync_product["name"], pool, list(front_ends), LYNC_COLOUR
    )
    plural = "s" if len(servers) != 1 else ""
    parts += _box(
        right_x,
        top,
        BOX_W,
        box_h,
        facts.exchange_product["name"],
        f"{len(servers)} server{plural}",
        list(servers),
        EXCHANGE_COLOUR,
    )
    # OAuth both ways, each arrow in the colour of the side that is trusted. No numbered
    # badges: every text node adds to the change-request PDF's layout time.
    parts += [
        _arrow(left_x + BOX_W, right_x - 2, top + 40, LYNC_COLOUR),
        _arrow(right_x, left_x + BOX_W + 2, top + box_h - 40, EXCHANGE_COLOUR),
    ]
    parts += _legend(facts, left_x, legend)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def environment_svg(env: LoadedEnvironment) -> str:
    """The diagram of a loaded environment."""
    spec = env.spec
    return topology_svg(
        env.name, spec.lync.pool, spec.lync.front_ends, spec.exchange.servers, derive(spec)
    )
