"""The notifier: events reach subscribers by type, on its own thread, in order; a failing or slow subscriber never
stops the others or the engine."""

from __future__ import annotations

import logging
import threading

import pytest

from cocomposer.engine import events as ev
from cocomposer.engine.notifier import Notifier


def test_subscribers_get_the_types_they_asked_for_in_order_and_can_leave() -> None:
    notifier = Notifier()
    notes: list[ev.Event] = []
    everything: list[ev.Event] = []
    leave = notifier.subscribe(notes.append, ev.NoteIn, ev.NoteOut)
    notifier.subscribe(everything.append)
    notifier.start()
    events = [
        ev.NoteIn(True, 60, 90, 1, 0.0, 0.0),
        ev.StateChanged("waiting"),
        ev.NoteOut(True, 64, 80, 2, "answer", 0.1, 0.2),
    ]
    for event in events:
        notifier.publish(event)
    assert notifier.flush(5)
    assert notes == [events[0], events[2]] and everything == events
    leave()
    notifier.publish(ev.NoteIn(False, 60, 0, 1, 0.3, 0.6))
    notifier.stop()
    assert len(notes) == 2 and len(everything) == 4, "after leaving, nothing more; stop delivers what was queued"


def test_a_failing_subscriber_is_logged_and_counted_and_the_others_still_hear(caplog: pytest.LogCaptureFixture) -> None:
    notifier = Notifier()
    heard: list[ev.Event] = []

    def broken(event: ev.Event) -> None:
        raise RuntimeError("the panel fell over")

    notifier.subscribe(broken)
    notifier.subscribe(heard.append)
    with caplog.at_level(logging.ERROR):
        notifier.publish(ev.Panicked(1.0))
        assert notifier.flush(5)
    assert heard == [ev.Panicked(1.0)] and notifier.errors == 1
    assert "Panicked" in caplog.text and "the panel fell over" in caplog.text


def test_a_slow_subscriber_does_not_hold_up_the_publisher() -> None:
    notifier = Notifier()
    release = threading.Event()
    notifier.subscribe(lambda event: release.wait(10))
    notifier.start()
    published = threading.Thread(target=lambda: [notifier.publish(ev.StateChanged("waiting")) for _ in range(100)])
    published.start()
    published.join(5)
    assert not published.is_alive(), "publishing 100 events never waits for the subscriber"
    assert not notifier.flush(0.05), "the subscriber is still busy with the first"
    release.set()
    assert notifier.flush(10)
    notifier.stop()
