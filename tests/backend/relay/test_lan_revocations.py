"""``LanRevocationPush``: the replica holding a link sends the whole list as the database has it,
never an older list after a newer one, and tells the other replicas of a change made here."""

from __future__ import annotations

import asyncio
from typing import Any

from aiclone_gateway.relay.lan_revocations import CHANGED_EVENT, LanRevocationPush
from aiclone_wire import LanRevocations, RevokedToken


class Links:
    """The relay hub's side of it: whether a link is held here, and the frames sent on it."""

    def __init__(self, linked_here: bool) -> None:
        self.linked_here = linked_here
        self.sent: list[Any] = []

    def broadcast(self, frame: Any) -> None:
        self.sent.append(frame)


class Table:
    """The revoked tokens as committed; a read takes its snapshot when it starts and answers
    only when the test lets it, so reads overlap changes as slow database round trips do."""

    def __init__(self) -> None:
        self.revoked: list[str] = []
        self.reads = 0
        self.gate = asyncio.Event()

    async def read(self) -> LanRevocations:
        self.reads += 1
        snapshot = list(self.revoked)
        await self.gate.wait()
        return LanRevocations(revoked=[RevokedToken(jti=jti, expires_at=2_000_000_000) for jti in snapshot])


def jtis(frame: LanRevocations) -> list[str]:
    return [token.jti for token in frame.revoked]


async def until(condition) -> None:
    async with asyncio.timeout(5):
        while not condition():
            await asyncio.sleep(0)


async def test_changes_during_a_read_end_with_the_newest_list_sent_last():
    table, links, told = Table(), Links(linked_here=True), []
    push = LanRevocationPush(table.read, links, fanout=told.append)
    table.revoked.append("a")
    push.changed()
    await until(lambda: table.reads == 1)  # reading ["a"]
    for jti in ("b", "c"):  # committed while that read is under way
        table.revoked.append(jti)
        push.changed()
    table.gate.set()
    await until(lambda: table.reads == 2 and len(links.sent) == 2)
    assert [jtis(frame) for frame in links.sent] == [["a"], ["a", "b", "c"]]  # one more read, not two
    assert told == [{"type": CHANGED_EVENT}] * 3  # every change reached the other replicas
    await push.close()


async def test_a_replica_without_a_link_reads_nothing_but_still_tells_the_others():
    table, links, told = Table(), Links(linked_here=False), []
    push = LanRevocationPush(table.read, links, fanout=told.append)
    push.changed()
    push.changed_elsewhere()
    assert told == [{"type": CHANGED_EVENT}]
    assert table.reads == 0 and links.sent == []  # the replica that gains the link greets with the list
    await push.close()
