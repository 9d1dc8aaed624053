"""The /stats chart: bookings through the bot per day, as bars on a PNG, drawn with Pillow."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 960, 480
LEFT, RIGHT, TOP, BOTTOM = 56, 24, 48, 56
BAR = (46, 125, 200)
AXIS = (60, 60, 60)
GRID = (225, 225, 225)


def _ticks(top: int) -> list[int]:
    """Whole-number grid lines from 0 to at least `top`, at most about five."""
    step = max(1, -(-top // 5))
    return list(range(0, max(top, 1) + step, step))


def draw(days: Sequence[tuple[date, int]], title: str = "Bookings through the bot") -> bytes:
    """A bar per day (oldest on the left), the counts on the left axis, every seventh day's
    date below (today's among them); PNG bytes."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    pen = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=15)
    ticks = _ticks(max((n for _, n in days), default=0))
    top = ticks[-1] or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    base = TOP + plot_h
    pen.text((LEFT, 16), title, fill=AXIS, font=font)
    for tick in ticks:
        y = base - plot_h * tick / top
        pen.line([(LEFT, y), (WIDTH - RIGHT, y)], fill=GRID)
        pen.text((LEFT - 8, y), str(tick), fill=AXIS, font=font, anchor="rm")
    slot = plot_w / max(len(days), 1)
    for i, (day, n) in enumerate(days):
        x0 = LEFT + i * slot + slot * 0.15
        x1 = LEFT + (i + 1) * slot - slot * 0.15
        if n:
            pen.rectangle([(x0, base - plot_h * n / top), (x1, base)], fill=BAR)
        if (len(days) - 1 - i) % 7 == 0:
            pen.text(((x0 + x1) / 2, base + 8), f"{day:%d.%m}", fill=AXIS, font=font, anchor="ma")
    pen.line([(LEFT, TOP), (LEFT, base), (WIDTH - RIGHT, base)], fill=AXIS, width=2)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
