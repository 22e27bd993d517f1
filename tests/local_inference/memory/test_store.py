"""``MemoryStore`` on real SQLite, ChromaDB, the Rust BM25 and e5: what is kept, what comes back, for whom."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from aiclone_agent.memory.store import MemoryStore
from aiclone_agent.rag.embeddings import E5Embedder

NOW = datetime(2026, 3, 20, 15, 0, tzinfo=timezone.utc)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def tell(store: MemoryStore, person: str, question: str, *, days: float, conversation: str = "c1",
         answer: str = "Noted!") -> str:  # fmt: skip
    record = store.remember(
        person, question=question, answer=answer, conversation_id=conversation, channel="web", at=ago(days)
    )
    assert record is not None
    return record.id


def recalled(store: MemoryStore, person: str, query: str, **kwargs) -> list[str]:
    return [r.text for r in store.recall(person, query, now=NOW, exclude_conversation="new", **kwargs)]


def test_a_fact_from_an_earlier_conversation_comes_back_as_the_round_it_was(store):
    tell(store, "user:a", "My dog's name is Rex.", days=9, answer="What a great name!")
    tell(store, "user:a", "How do I boil an egg?", days=8, answer="Eight minutes in boiling water.")
    records = store.recall("user:a", "What's my dog's name?", now=NOW)
    assert [r.text for r in records][:1] == ["Q: My dog's name is Rex.\nA: What a great name!"]
    assert records[0].at == ago(9) and records[0].channel == "web" and records[0].conversation_id == "c1"
    assert records[0].person is None


def test_nothing_relevant_recalls_nothing(store):
    tell(store, "user:a", "My dog's name is Rex.", days=3)
    assert recalled(store, "user:a", "What is the boiling point of mercury?") == []


def test_the_current_conversation_and_given_ids_are_left_out(store):
    kept = tell(store, "user:a", "My dog's name is Rex.", days=3, conversation="c1")
    assert store.recall("user:a", "What's my dog's name?", now=NOW, exclude_conversation="c1") == []
    assert store.recall("user:a", "What's my dog's name?", now=NOW, exclude_ids={kept}) == []


def test_two_persons_with_near_identical_rounds_never_see_each_other(store):
    rex = tell(store, "user:a", "My dog's name is Rex and I live in Berlin.", days=5)
    rax = tell(store, "telegram:7:42", "My dog's name is Rex and I live in Berlin!", days=5)
    for person, own in (("user:a", rex), ("telegram:7:42", rax)):
        for mode in ("hybrid", "dense", "lexical"):
            got = {
                r.id
                for r in store.recall(person, "my dog's name is Rex and I live in Berlin", now=NOW, mode=mode)
            }
            assert got == {own}, mode
        assert [r.id for r in store.list(person)] == [own]
        assert [r.id for r in store.list(person, query="rex")] == [own]
    assert store.recall("user:b", "my dog's name is Rex and I live in Berlin", now=NOW) == []
    assert store.delete(rax, person="user:a") is False
    assert store.delete_all("user:a") == 1
    assert [r.id for r in store.recall("telegram:7:42", "Rex Berlin", now=NOW)] == [rax]


def test_a_later_update_outranks_and_hides_the_fact_it_replaced(store):
    tell(store, "user:a", "My dog's name is Rex.", days=30)
    tell(store, "user:a", "Quick update: my dog is called Max now, the kids renamed him.", days=2)
    texts = recalled(store, "user:a", "What's my dog's name? Is it still Rex?")
    assert texts and "Max" in texts[0]
    assert not any("Rex." in text for text in texts)


def test_without_a_subject_key_both_rounds_stay(store):
    tell(store, "user:a", "I went to a jazz concert with Anna.", days=20)
    tell(store, "user:a", "I went to a jazz concert with Tom.", days=2)
    assert len(recalled(store, "user:a", "Who did I go to the jazz concert with?")) == 2


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What did I do yesterday?", "chess"),
        ("Что я делал три дня назад?", "bread"),
        ("What did I do last week?", "fishing"),
    ],
)
def test_a_time_reference_finds_the_round_of_that_time(store, question, expected):
    tell(store, "user:a", "Today I went fishing at the lake.", days=8)
    tell(store, "user:a", "Today I baked bread.", days=3)
    tell(store, "user:a", "Today I played chess in the park.", days=1)
    texts = recalled(store, "user:a", question)
    assert texts and expected in texts[0]


def test_remember_that_pins_and_a_pin_can_be_changed(store):
    pinned = store.remember("owner", question="Remember that my flight is on Friday.", answer="Noted.",
                            conversation_id=None, channel="owner", at=ago(1))  # fmt: skip
    plain = store.remember(
        "owner", question="Запомню сам, спасибо.", answer="Хорошо.", conversation_id=None, channel="owner"
    )
    assert pinned is not None and pinned.pinned
    assert plain is not None and not plain.pinned
    changed = store.set_pinned(pinned.id, False)
    assert not changed.pinned and changed.person == "owner"
    assert not store.list("owner", query="flight")[0].pinned
    with pytest.raises(KeyError):
        store.set_pinned("m_missing", True)


def test_the_cap_drops_the_oldest_unpinned_rounds_everywhere(tmp_path, embedder):
    store = MemoryStore(tmp_path / "memory", embedder, cap_per_person=3)
    try:
        keep = tell(store, "user:a", "Remember that my locker code is 4471.", days=10)
        dropped = tell(store, "user:a", "My locker is on the second floor near the gym.", days=9)
        for days in (3, 2, 1):
            tell(store, "user:a", f"Small talk number {days} about the weather.", days=days)
        ids = [r.id for r in store.list("user:a")]
        assert len(ids) == 3 and keep in ids and dropped not in ids
        for mode in ("hybrid", "dense", "lexical"):
            got = {
                r.id for r in store.recall("user:a", "locker second floor gym", now=NOW, mode=mode, limit=10)
            }
            assert dropped not in got, mode
    finally:
        store.close()


def test_a_round_longer_than_the_limit_is_kept_cut(tmp_path, embedder):
    store = MemoryStore(tmp_path / "memory", embedder, text_limit=100)
    try:
        record = store.remember("owner", question="Tell me a story.", answer="Once upon a time " * 50,
                                conversation_id="c", channel="owner")  # fmt: skip
        assert (
            record is not None
            and len(record.text) == 100
            and record.text.startswith("Q: Tell me a story.\nA: Once")
        )
    finally:
        store.close()


def test_switched_off_writes_and_recalls_nothing(store):
    tell(store, "user:a", "My dog's name is Rex.", days=3)
    store.set_enabled("user:a", False)
    assert not store.enabled("user:a") and store.enabled("user:b")
    assert (
        store.remember("user:a", question="My cat is Tom.", answer="ok", conversation_id="c", channel="web")
        is None
    )
    assert store.recall("user:a", "What's my dog's name?", now=NOW) == []
    assert len(store.list("user:a")) == 1  # still listed: the person can see and erase it
    store.set_enabled("user:a", True)
    assert recalled(store, "user:a", "What's my dog's name?")


def test_the_owner_lists_every_person_with_their_key(store):
    tell(store, "user:a", "My dog's name is Rex.", days=3)
    tell(store, "user:a", "Моя собака — овчарка.", days=2)
    tell(store, "telegram:1:2", "I live in Oslo.", days=1)
    everyone = store.list(None)
    assert [r.person for r in everyone] == ["telegram:1:2", "user:a", "user:a"]
    assert store.persons() == [("telegram:1:2", 1), ("user:a", 2)]
    assert [r.text[:18] for r in store.list(None, query="СОБАКА")] == ["Q: Моя собака — ов"]
    assert [r.person for r in store.list(None, limit=1, offset=1)] == ["user:a"]


def test_lexical_only_without_an_embedding_model(tmp_path):
    store = MemoryStore(tmp_path / "memory", None)
    try:
        tell(store, "user:a", "My dog's name is Rex.", days=30)
        tell(store, "user:a", "Quick update: my dog is called Max now.", days=2)
        tell(store, "user:b", "My dog's name is Rex.", days=1)
        texts = recalled(store, "user:a", "What's my dog's name?")
        assert texts and "Max" in texts[0] and not any("Rex" in t for t in texts)
    finally:
        store.close()


def test_an_erasure_survives_a_reopen(tmp_path: Path, embedder: E5Embedder):
    store = MemoryStore(tmp_path / "memory", embedder)
    gone = tell(store, "user:a", "My dog's name is Rex.", days=3)
    stays = tell(store, "user:a", "I live in Berlin.", days=3)
    tell(store, "user:b", "My dog's name is Rex.", days=3)
    store.recall("user:a", "dog", now=NOW)  # the person's indexes are loaded: the erasure must reach them
    assert store.delete(gone, person="user:a") and not store.delete(gone)
    assert store.delete_all("user:b") == 1
    store.close()

    reopened = MemoryStore(tmp_path / "memory", embedder)
    try:
        assert [r.id for r in reopened.list(None)] == [stays]
        assert reopened.vectors is not None
        assert reopened.vectors.ids("user:a") == {stays} and reopened.vectors.ids("user:b") == set()
        for person in ("user:a", "user:b"):
            for mode in ("hybrid", "dense", "lexical"):
                got = {
                    r.id
                    for r in reopened.recall(person, "My dog's name is Rex", now=NOW, mode=mode, limit=10)
                }
                assert gone not in got and (person == "user:a" or not got), mode
    finally:
        reopened.close()


def test_a_round_whose_vector_was_never_written_is_embedded_on_first_recall(tmp_path, embedder):
    """A crash between the row's commit and the vector's write leaves a row without a vector."""
    store = MemoryStore(tmp_path / "memory", None)  # writes rows and BM25 only
    kept = tell(store, "user:a", "My dog's name is Rex.", days=3)
    store.close()
    reopened = MemoryStore(tmp_path / "memory", embedder)
    try:
        assert [r.id for r in reopened.recall("user:a", "как зовут мою собаку", now=NOW, mode="dense")] == [
            kept
        ]
        assert reopened.vectors is not None and reopened.vectors.ids("user:a") == {kept}
    finally:
        reopened.close()


def test_an_update_in_the_current_conversation_still_hides_the_old_fact(store):
    """The update is already in the prompt's history: recall must not bring back what it replaced."""
    tell(store, "user:a", "My dog's name is Rex.", days=30, conversation="old")
    update = tell(store, "user:a", "My dog is called Max now.", days=0.01, conversation="now")
    assert store.recall("user:a", "What's my dog's name?", now=NOW, exclude_conversation="now") == []
    assert store.recall("user:a", "What's my dog's name?", now=NOW, exclude_ids={update}) == []
