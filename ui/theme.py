"""A dark stage theme: large type, high contrast, sliders big enough to hit in the dark.

Every text a player reads during a set is at least ``MIN_TEXT_PX`` pixels and has a contrast of at least
``MIN_CONTRAST`` (WCAG 2's 4.5:1 for normal text) against what it sits on; tests/test_ui_theme.py computes both from
this stylesheet. Disabled controls are the exception WCAG makes too: they are dimmed on purpose, and dashed, so they
read as "not now" at a glance.
"""

from __future__ import annotations

import re

MIN_TEXT_PX = 15
MIN_CONTRAST = 4.5
BACKGROUND = "#0c0e12"
TEXT = "#e8ebf0"

STYLESHEET = """
QWidget { background: #0c0e12; color: #e8ebf0; font-size: 16px; }
QLabel#controlTitle { color: #c3cad6; font-size: 15px; font-weight: bold; }
QLabel#valueLabel { color: #ffffff; font-size: 17px; font-weight: bold; }
QLabel#ccLabel { color: #ffb02e; font-size: 15px; }
QWidget[learning="true"] { background: #3a2a00; border-radius: 6px; }
QWidget[learning="true"] QLabel, QWidget[learning="true"] QSlider { background: #3a2a00; }
QLabel#stateBadge { color: #ffffff; font-size: 24px; font-weight: bold; border-radius: 8px; padding: 10px 18px; }
QLabel#latency { color: #c9d0db; font-size: 15px; }
QLabel#preferences { color: #dfe5ee; font-size: 15px; }
QLabel#help { color: #b9c1cd; font-size: 15px; padding: 3px 8px; border: 2px solid #0c0e12; border-radius: 6px; }
QLabel#help[learning="true"] { color: #ffd27a; background: #2b2100; font-size: 15px; border: 2px solid #ffb02e; }
QLabel#messages { color: #ffe0e0; background: #5c1a1a; border: 2px solid #e05555; border-radius: 6px; padding: 8px;
                  font-size: 15px; }
QSlider::groove:horizontal { height: 12px; background: #262b35; border-radius: 6px; }
QSlider::sub-page:horizontal { background: #37c8f0; border-radius: 6px; }
QSlider::handle:horizontal { background: #f2f2f2; width: 30px; height: 30px; margin: -10px 0; border-radius: 15px; }
QSlider::sub-page:horizontal:disabled { background: #2f3540; }
QSlider::handle:horizontal:disabled { background: #4a5160; }
QSlider { min-height: 36px; }
QComboBox { color: #e8ebf0; background: #1b2029; border: 1px solid #3a4150; border-radius: 6px; padding: 6px 10px;
            min-height: 26px; font-size: 16px; }
QComboBox:disabled { color: #5d6573; background: #101318; border: 1px dashed #2a303b; }
QComboBox QAbstractItemView { color: #e8ebf0; background: #1b2029; selection-background-color: #37c8f0;
                              selection-color: #000000; }
QPushButton { color: #e8ebf0; background: #1f2530; border: 1px solid #3a4150; border-radius: 8px; padding: 8px 14px;
              min-height: 28px; font-size: 16px; font-weight: bold; }
QPushButton:hover { color: #ffffff; background: #2a3240; }
QPushButton:pressed { color: #000000; background: #37c8f0; }
QPushButton:checked { color: #000000; background: #37c8f0; }
QPushButton:disabled { color: #5d6573; background: #101318; border: 1px dashed #2a303b; }
QPushButton#panic { color: #ffffff; background: #c62828; border: 2px solid #ff6b6b; font-size: 26px;
                    min-width: 180px; min-height: 64px; }
QPushButton#panic:pressed { color: #000000; background: #ff5252; }
QPushButton#like { color: #ffffff; background: #1e5e3a; font-size: 18px; min-height: 44px; }
QPushButton#dislike { color: #ffffff; background: #5e1e2a; font-size: 18px; min-height: 44px; }
QPushButton#more { color: #c3cad6; background: #0c0e12; border: 1px solid #3a4150; font-size: 15px; }
QGroupBox { border: 1px solid #262b35; border-radius: 8px; margin-top: 14px; padding-top: 8px; }
QGroupBox::title { color: #c3cad6; subcontrol-origin: margin; left: 10px; font-size: 15px; }
QToolTip { color: #e8ebf0; background: #1b2029; border: 1px solid #3a4150; font-size: 15px; }
"""


def rules(stylesheet: str = STYLESHEET) -> list[tuple[str, dict[str, str]]]:
    """The stylesheet as (selector, {property: value}) pairs, in order."""
    out = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", stylesheet):
        props = {}
        for declaration in body.split(";"):
            name, _, value = declaration.partition(":")
            if value.strip():
                props[name.strip()] = value.strip()
        out.append((" ".join(selector.split()), props))
    return out


def luminance(color: str) -> float:
    """WCAG 2 relative luminance of "#rrggbb"."""
    channels = [int(color.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two "#rrggbb" colours (1 to 21)."""
    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)
