"""The choice of agent when several PCs serve one clone: the most free capacity, ties by round
trip then turn, a conversation kept on its agent while it is healthy, moved when it is not."""

from __future__ import annotations

from collections import Counter

from aiclone_gateway.relay.balancer import Balancer, Candidate, conversation_of
from aiclone_wire import TelegramMessage


def test_a_new_conversation_goes_to_the_agent_with_the_most_free_capacity_relative_to_its_slots():
    balancer = Balancer()
    busy = Candidate("a", running=3, waiting=0, parallel=4)  # 3 of 4 slots busy
    big = Candidate("b", running=4, waiting=0, parallel=8)  # 4 of 8: more free per slot
    assert balancer.choose([busy, big]).agent_id == "b"
    queued = Candidate("b", running=8, waiting=2, parallel=8)
    assert balancer.choose([busy, queued]).agent_id == "a"


def test_this_gateways_open_requests_count_before_the_agent_reports_them_and_never_twice():
    balancer = Balancer()
    # a reported idle, but this gateway just sent it two requests: they count at once
    sent = Candidate("a", in_flight=2, running=0, waiting=0, parallel=4)
    reported = Candidate("b", in_flight=0, running=1, waiting=0, parallel=4)
    assert balancer.choose([sent, reported]).agent_id == "b"
    # once a reports them, they are the same two requests, not four
    assert Candidate("a", in_flight=2, running=2, waiting=0, parallel=4).busy == 2


def test_busy_is_never_negative_whatever_the_numbers():
    assert Candidate("a", in_flight=-3, running=0, waiting=0).busy == 0
    assert Candidate("a", in_flight=0, running=0, waiting=0, parallel=0).utilisation == 0


def test_equal_capacity_goes_to_the_lower_round_trip_beyond_noise():
    balancer = Balancer(rtt_tolerance_s=0.005)
    near, far = Candidate("near", rtt_s=0.010), Candidate("far", rtt_s=0.080)
    assert [balancer.choose([far, near]).agent_id for _ in range(4)] == ["near"] * 4
    # a difference within the tolerance is noise: equal agents take turns
    twin = Candidate("twin", rtt_s=0.012)
    assert Counter(balancer.choose([twin, near]).agent_id for _ in range(10)) == {"near": 5, "twin": 5}


def test_equal_agents_share_requests_that_come_one_at_a_time():
    balancer = Balancer()
    agents = [Candidate("a", parallel=2), Candidate("b", parallel=2)]
    shares = Counter(balancer.choose(agents, f"conversation-{n}").agent_id for n in range(20))
    assert shares == {"a": 10, "b": 10}


def test_a_conversation_stays_on_its_agent_while_it_is_healthy_even_when_another_is_freer():
    balancer = Balancer()
    first = balancer.choose([Candidate("a"), Candidate("b", running=1, parallel=4)], "c1")
    assert first is not None and first.agent_id == "a"
    loaded = [Candidate("a", running=3, parallel=4), Candidate("b", parallel=4)]
    assert [balancer.choose(loaded, "c1").agent_id for _ in range(3)] == ["a", "a", "a"]
    assert balancer.choose(loaded, "c2").agent_id == "b"


def test_a_conversation_leaves_an_agent_over_capacity_for_one_with_a_free_slot():
    balancer = Balancer()
    assert balancer.choose([Candidate("a", parallel=2), Candidate("b", parallel=2)], "c1").agent_id == "a"
    # every slot busy (or a lagging report of a turn just finished): it stays with its history
    at_capacity = Candidate("a", running=2, parallel=2)
    assert balancer.choose([at_capacity, Candidate("b", running=1, parallel=2)], "c1").agent_id == "a"
    # requests already wait for a's slots while b has one free: it moves, and sticks there
    over = Candidate("a", running=2, waiting=1, parallel=2)
    assert balancer.choose([over, Candidate("b", running=1, parallel=2)], "c1").agent_id == "b"
    assert balancer.agent_of("c1") == "b"
    # when every agent is over capacity it stays where its history is
    both_over = [Candidate("a", running=2, parallel=2), Candidate("b", running=3, parallel=2)]
    assert balancer.choose(both_over, "c1").agent_id == "b"
    # one API opening sent by many clients at once spreads instead of queueing on one agent
    spread = Balancer()
    counts: Counter[str] = Counter()
    for _ in range(8):
        agents = [Candidate(a, in_flight=counts[a], parallel=2) for a in ("a", "b", "c", "d")]
        counts[spread.choose(agents, "same opening").agent_id] += 1
    assert max(counts.values()) <= 3 and len(counts) >= 3, counts  # at most one waits anywhere


def test_a_conversation_moves_when_its_agent_is_not_healthy_and_sticks_to_the_new_one():
    balancer = Balancer()
    assert balancer.choose([Candidate("a")], "c1").agent_id == "a"
    assert balancer.choose([Candidate("b")], "c1").agent_id == "b"  # a is gone
    assert balancer.choose([Candidate("a"), Candidate("b", running=3, parallel=4)], "c1").agent_id == "b"
    # a retry excludes the agent that failed it
    assert balancer.choose([Candidate("a"), Candidate("b")], "c1", exclude={"b"}).agent_id == "a"
    assert balancer.agent_of("c1") == "a"
    assert balancer.choose([Candidate("a")], "c1", exclude={"a"}) is None


def test_the_stickiness_map_is_bounded():
    balancer = Balancer(max_conversations=3)
    for n in range(5):
        balancer.choose([Candidate("a")], f"c{n}")
    assert [balancer.agent_of(f"c{n}") for n in range(5)] == [None, None, "a", "a", "a"]


def test_a_conversation_is_known_by_its_telegram_chat_or_its_api_opening():
    telegram = TelegramMessage(bot_id=1, chat_id=42, text="hi")
    assert conversation_of(telegram, None) == conversation_of(
        telegram.model_copy(update={"text": "more"}), None
    )
    opening = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}]
    later = [*opening, {"role": "assistant", "content": "hi"}, {"role": "user", "content": "how are you?"}]
    first = conversation_of({"messages": opening}, "user:1")
    assert first is not None and first == conversation_of({"messages": later}, "user:1")
    assert first != conversation_of({"messages": later}, "user:2")  # another asker's conversation
    assert first != conversation_of({"messages": [{"role": "user", "content": "other"}]}, "user:1")
    assert conversation_of({"model": "x"}, None) is None
