"""A dark stage theme: high contrast, large type, sliders big enough to hit in the dark."""

from __future__ import annotations

STYLESHEET = """
QWidget { background: #0c0e12; color: #e8ebf0; font-size: 15px; }
QLabel#controlTitle { color: #aab3c2; font-size: 13px; font-weight: bold; text-transform: uppercase; }
QLabel#valueLabel { font-size: 17px; font-weight: bold; color: #ffffff; }
QLabel#ccLabel { color: #ffb02e; font-size: 12px; }
QWidget[learning="true"] { background: #3a2a00; border-radius: 6px; }
QLabel#stateBadge { font-size: 24px; font-weight: bold; color: #ffffff; border-radius: 8px; padding: 10px 18px; }
QLabel#latency { color: #9aa3b2; font-size: 13px; }
QLabel#preferences { color: #cfd6e0; font-size: 13px; }
QLabel#help { color: #7d8696; font-size: 12px; }
QLabel#messages { background: #5c1a1a; color: #ffe0e0; border: 2px solid #e05555; border-radius: 6px;
                  padding: 8px; font-size: 15px; }
QSlider::groove:horizontal { height: 12px; background: #262b35; border-radius: 6px; }
QSlider::sub-page:horizontal { background: #37c8f0; border-radius: 6px; }
QSlider::handle:horizontal { background: #f2f2f2; width: 30px; height: 30px; margin: -10px 0; border-radius: 15px; }
QSlider { min-height: 36px; }
QComboBox { background: #1b2029; border: 1px solid #3a4150; border-radius: 6px; padding: 6px 10px;
            min-height: 26px; }
QComboBox QAbstractItemView { background: #1b2029; selection-background-color: #37c8f0; selection-color: #000; }
QPushButton { background: #1f2530; border: 1px solid #3a4150; border-radius: 8px; padding: 8px 14px;
              min-height: 28px; font-weight: bold; }
QPushButton:hover { background: #2a3240; }
QPushButton:pressed { background: #37c8f0; color: #000; }
QPushButton#panic { background: #c62828; border: 2px solid #ff6b6b; color: #fff; font-size: 26px;
                    min-width: 180px; min-height: 64px; }
QPushButton#panic:pressed { background: #ff5252; }
QPushButton#like { background: #1e5e3a; font-size: 18px; min-height: 44px; }
QPushButton#dislike { background: #5e1e2a; font-size: 18px; min-height: 44px; }
QGroupBox { border: 1px solid #262b35; border-radius: 8px; margin-top: 14px; padding-top: 8px; }
QGroupBox::title { subcontrol-origin: margin; left: 10px; color: #7d8696; }
QToolTip { background: #1b2029; color: #e8ebf0; border: 1px solid #3a4150; font-size: 14px; }
"""
