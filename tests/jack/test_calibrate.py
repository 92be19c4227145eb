"""`cocomposer calibrate` measures the round trip through a real JACK loopback route."""

from __future__ import annotations

import pytest

from cocomposer.app.calibrate import measure_round_trip
from cocomposer.app.cli import main
from cocomposer.errors import CocomposerError
from cocomposer.midi import ports


@pytest.mark.jack
def test_round_trip_through_a_jack_route(jack_server) -> None:
    out = ports.open_output(None, "jack", virtual_name="cal out", client_name="caltest")
    inp = ports.open_input(None, "jack", virtual_name="cal in", client_name="caltest")
    try:
        jack_server.connect(jack_server.wait_for_port(":cal out"), jack_server.wait_for_port(":cal in"))
        trips = measure_round_trip(out, inp, count=20, interval=0.005)
        assert len(trips) >= 18
        assert all(0 < t < 0.1 for t in trips)
    finally:
        out.close()
        inp.close()


def test_no_route_gives_a_clear_error() -> None:
    inp, out = ports.loopback_pair("unrouted")
    other_in, _ = ports.loopback_pair("elsewhere")
    with pytest.raises(CocomposerError, match="route"):
        measure_round_trip(out, other_in, count=2, interval=0.0, timeout=0.05)
    for port in (inp, out, other_in):
        port.close()


@pytest.mark.jack
def test_calibrate_command_suggests_an_offset(jack_server, capsys: pytest.CaptureFixture[str]) -> None:
    sink = ports.open_input(None, "jack", virtual_name="cal echo in", client_name="calecho")
    source = ports.open_output(None, "jack", virtual_name="cal echo out", client_name="calecho")
    sink.start(lambda t_ns, msg: source.send(msg))  # an echo device: what comes in goes back out
    try:
        code = main(["calibrate", "--api", "jack", "--out", "cal echo in", "--in", "cal echo out", "--count", "10"])
        assert code == 0
        out = capsys.readouterr().out
        assert "round trip median" in out and "--output-offset -" in out
    finally:
        sink.close()
        source.close()
