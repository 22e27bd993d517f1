"""Path trust, hysteresis and the network mode, driven by a fake clock."""

from __future__ import annotations

from aiclone_wire.paths import PathBoard, ProbePolicy

POLICY = ProbePolicy(active_interval_s=2.0, idle_interval_s=5.0, missed_probes=2.0)


def board_with(now: float = 0.0, **rtts: float) -> PathBoard:
    board = PathBoard(policy=POLICY)
    for name, rtt in rtts.items():
        board.paths[name].up(now, wall=1000.0)
        board.paths[name].pong(now, rtt)
    return board


def test_a_path_is_trusted_until_about_two_probes_are_missed() -> None:
    board = board_with(relay=0.02)
    relay = board.paths["relay"]
    assert relay.trusted(12.4, POLICY)  # idle: probes every 5 s, 2.5 intervals of trust
    assert not relay.trusted(12.6, POLICY)
    relay.active = True  # carrying traffic: probes every 2 s, trust shrinks to 5 s
    assert relay.trusted(4.9, POLICY)
    assert not relay.trusted(5.1, POLICY)
    relay.pong(5.1, 0.02)
    assert relay.trusted(10.0, POLICY)


def test_the_mode_follows_the_trusted_paths_and_says_why() -> None:
    board = board_with(relay=0.02, direct=0.002)
    assert board.evaluate(0.0).after == "hybrid"
    board.paths["direct"].down()
    change = board.evaluate(1.0)
    assert (change.before, change.after) == ("hybrid", "relay")
    assert "direct path closed" in change.reason
    assert board.evaluate(1.5) is None  # no change, no transition
    change = board.evaluate(13.0)  # the relay stopped answering probes
    assert change.after == "offline" and "relay path silent" in change.reason
    board.paths["direct"].up(14.0)
    change = board.evaluate(14.0)
    assert change.after == "direct" and "direct path up" in change.reason


def test_requests_take_the_faster_trusted_path() -> None:
    board = board_with(relay=0.020, direct=0.002)
    assert board.choose(0.0) == "direct"
    assert board.alternative(0.0, "direct") == "relay"
    board.paths["direct"].down()
    assert board.choose(1.0) == "relay"
    assert board.alternative(1.0, "relay") is None
    board.paths["relay"].down()
    assert board.choose(1.0) is None


def test_switching_needs_a_clear_rtt_advantage() -> None:
    board = board_with(relay=0.010, direct=0.011)
    assert board.choose(0.0) == "relay"
    for sample in (0.009, 0.0085, 0.009):  # slightly faster: not enough to switch
        board.paths["direct"].pong(0.1, sample)
        assert board.choose(0.1) == "relay"
    for _ in range(12):  # clearly faster for a while: switch
        board.paths["direct"].pong(0.2, 0.002)
    assert board.choose(0.2) == "direct"
    board.paths["relay"].pong(0.3, 0.0019)  # relay now a hair faster: stay on direct
    assert board.choose(0.3) == "direct"


def test_a_new_path_without_a_measured_rtt_does_not_take_traffic() -> None:
    board = board_with(relay=0.05)
    board.paths["direct"].up(0.0)
    assert board.current_mode(0.0) == "hybrid"
    assert board.choose(0.0) == "relay"
    assert board.describe(0.0)["direct"] == {"up": True, "rtt_ms": None, "since": board.paths["direct"].since}
