"""MIDI learn: right-click a control, choose "MIDI learn", move a knob: that CC now moves the control.

The binding itself is pure (:func:`bind`, :func:`unbind` on `Settings`); :class:`MidiLearn` remembers which
control waits for a CC; :func:`install_menu` gives a widget its right-click menu.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QMenu, QWidget

from cocomposer.engine.settings import CC_TARGETS, Settings

PANIC = "panic"  # the panic button learns Settings.panic_cc


def bindable(name: str) -> bool:
    return name == PANIC or name in CC_TARGETS


def binding_of(settings: Settings, name: str) -> int | None:
    if name == PANIC:
        return settings.panic_cc
    return next((number for number, target in sorted(settings.cc.items()) if target == name), None)


def bind(settings: Settings, name: str, number: int) -> Settings:
    """``settings`` with CC ``number`` moving ``name`` (and nothing else); the control's old CC is freed, and so is
    the number's old job (a knob, the panic CC or the phrase-end CC: `Settings` refuses one CC with two jobs)."""
    cc = {n: target for n, target in settings.cc.items() if target != name and n != number}
    panic_cc = None if settings.panic_cc == number else settings.panic_cc
    phrase_end_cc = None if settings.phrase_end_cc == number else settings.phrase_end_cc
    if name == PANIC:
        return replace(settings, cc=cc, panic_cc=number, phrase_end_cc=phrase_end_cc)
    cc[number] = name
    return replace(settings, cc=cc, panic_cc=panic_cc, phrase_end_cc=phrase_end_cc)


def unbind(settings: Settings, name: str) -> Settings:
    if name == PANIC:
        return replace(settings, panic_cc=None)
    return replace(settings, cc={n: target for n, target in settings.cc.items() if target != name})


class MidiLearn:
    """Which control waits for a CC (one at a time)."""

    def __init__(self) -> None:
        self.armed: str | None = None

    def arm(self, name: str) -> None:
        self.armed = name

    def cancel(self) -> None:
        self.armed = None

    def take(self, number: int) -> tuple[str, int] | None:
        """A CC arrived: (control, number) to bind if a control was waiting."""
        name, self.armed = self.armed, None
        return None if name is None else (name, number)


def install_menu(
    widget: QWidget,
    name: str,
    learn: Callable[[str], None],
    forget: Callable[[str], None],
    bound: Callable[[str], int | None],
) -> None:
    """Give ``widget`` (and its children) a right-click menu: "MIDI learn" and, when bound, "Forget CC n"."""

    def show(pos: object) -> None:
        menu = QMenu(widget)
        menu.addAction("MIDI learn (move a knob)", lambda: learn(name))
        number = bound(name)
        if number is not None:
            menu.addAction(f"Forget CC {number}", lambda: forget(name))
        menu.exec(widget.mapToGlobal(pos))  # type: ignore[arg-type]

    for target in (widget, *widget.findChildren(QWidget)):
        target.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        target.customContextMenuRequested.connect(lambda pos, t=target: show(widget.mapFromGlobal(t.mapToGlobal(pos))))
