"""Long-term memory evaluation: does a person's fact come back in a new conversation, days later?

    .venv/bin/python bench/memory_eval.py [--persons 50] [--latency-records 10000] [--latency-queries 200]
        [--seed 7] [--write-doc]

Generates (seeded, nothing downloaded) persons in English and Russian, each with 10 sessions spread
over two months: facts about themselves, later updates of some of them ("I moved to …", "my dog is
called … now"), what they did that day, small talk, and distractors that mention other persons'
facts ("my friend Anna's dog is called Luna", with Luna being another person's dog). Everything goes
through the real ``MemoryStore`` (SQLite + ChromaDB + the Rust BM25, e5 embeddings). Then, as of
one "now" after the last session, each person asks in a new conversation about an earlier-session
fact, an updated fact (the update is expected, the fact it replaced is stale), or what they did at
a time ("yesterday", "3 days ago", "на прошлой неделе").

Measured for memory (hybrid recall) and, in the same run, three baselines:
* Recall@5: the share of questions whose expected round is among the five recalled;
* stale above update: of the questions about an updated fact, the share where the replaced round
  is recalled above the update (or recalled while the update is not);
* leakage: recalled rounds that belong to another person (must be 0);
* recall latency p50/p95 at ``--latency-records`` rounds for one person (a separate, larger store;
  a second person holds a tenth as many), query embedding included.
Baselines: no memory (nothing recalled), the last 5 rounds of the person, dense-only (the five
nearest e5 vectors of the person, no threshold, dates or newest-wins).

Embedding the larger store is the slow part (about 60 rounds/s with e5-small on 2 shared cores:
10,000 rounds take about 3 minutes); ``--latency-records`` sizes it, and the table names the size
used. ``--write-doc`` writes the table into docs/benchmarks.md under ``## Memory
(bench/memory_eval.py)``.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "local-inference"))
sys.path.insert(0, str(ROOT / "wire"))
sys.path.insert(0, str(ROOT / "bench"))

from aiclone_agent.memory.store import MemoryStore, Mode  # noqa: E402
from aiclone_agent.rag.embeddings import E5Embedder, Embedder  # noqa: E402
from aiclone_wire.memory import MemoryRecord  # noqa: E402

HEADING = "## Memory (bench/memory_eval.py)"
K = 5
SESSIONS = 10
# "now" is a Friday; sessions are this many days before it, so that "yesterday", "3 days ago",
# "8 days ago" and "last week" (Mon 9 – Sun 15 March) each hold exactly one session.
NOW = datetime(2026, 3, 20, 15, 0, tzinfo=timezone.utc)
SESSION_DAYS_BEFORE = [60, 53, 46, 39, 31, 24, 17, 8, 3, 1]
UPDATE_SESSIONS = range(6, 10)

# A fact: (key, statement, questions, update, values). {v} is the value; the questions ("|" between
# them) are asked one at random: the first in the words of the statement, the second in others.
Fact = tuple[str, str, str, str, list[str]]
FACTS_EN: list[Fact] = [
    ("dog", "My dog's name is {v}.", "What's my dog's name?|Remind me, what is the name of my dog?",
     "Quick update: my dog is called {v} now, the kids renamed him.",
     ["Rex", "Max", "Bella", "Luna", "Charlie", "Buddy", "Rocky", "Daisy", "Toby", "Milo"]),
    ("city", "I live in {v}, right in the centre.", "Where do I live?|Which city am I based in these days?",
     "Big news, I moved to {v} last month!",
     ["Berlin", "Lisbon", "Prague", "Vienna", "Toronto", "Madrid", "Oslo", "Dublin", "Warsaw", "Riga"]),
    ("colour", "My favourite colour is {v}.", "What's my favourite colour?|Which colour do I like best?",
     "I changed my mind, my favourite colour is {v} these days.",
     ["green", "blue", "orange", "purple", "yellow", "teal", "crimson", "grey"]),
    ("job", "I work as a {v} at a small company.", "What do I do for work?|What's my profession?",
     "I quit and now I work as a {v}.",
     ["nurse", "teacher", "plumber", "designer", "accountant", "pilot", "chef", "lawyer"]),
    ("car", "My car is a {v}.", "What car do I drive?|Which car do I own?", "I sold the old one; my car is a {v} now.",
     ["red Volvo", "blue Toyota", "white Tesla", "black Audi", "green Skoda", "silver Honda"]),
    ("sister", "My sister's name is {v}.", "What's my sister's name?|How is my sister called?", "",
     ["Anna", "Maria", "Kate", "Olga", "Sophie", "Emma", "Lucy", "Nina"]),
    ("food", "My favourite food is {v}.", "What's my favourite food?|Which dish do I love most?",
     "These days my favourite food is {v}.",
     ["sushi", "lasagna", "tacos", "pho", "ramen", "paella", "dumplings", "curry"]),
    ("allergy", "Remember that I'm allergic to {v}.", "What am I allergic to?|Do I have any allergies?", "",
     ["peanuts", "penicillin", "cats", "pollen", "shellfish", "bees"]),
]  # fmt: skip
FACTS_RU: list[Fact] = [
    ("dog", "Мою собаку зовут {v}.", "Как зовут мою собаку?|Напомни кличку моей собаки.", "Кстати, мою собаку теперь зовут {v}.",
     ["Рекс", "Шарик", "Бим", "Лайка", "Тузик", "Жучка", "Граф", "Альма"]),
    ("city", "Я живу в городе {v}.", "Где я живу?|В каком городе я сейчас живу?", "Я переехал в город {v} в прошлом месяце.",
     ["Казань", "Самара", "Пермь", "Томск", "Сочи", "Тверь", "Омск", "Калуга"]),
    ("colour", "Мой любимый цвет — {v}.", "Какой мой любимый цвет?|Какой цвет я люблю больше всего?", "Теперь мой любимый цвет — {v}.",
     ["зелёный", "синий", "красный", "жёлтый", "фиолетовый", "белый"]),
    ("job", "Я работаю {v} в небольшой фирме.", "Кем я работаю?|Какая у меня профессия?", "Я сменил работу, теперь я работаю {v}.",
     ["врачом", "учителем", "бухгалтером", "водителем", "программистом", "поваром", "юристом"]),
    ("film", "Мой любимый фильм — «{v}».", "Какой мой любимый фильм?|Какое кино я люблю больше всего?", "",
     ["Брат", "Сталкер", "Ирония судьбы", "Солярис", "Москва слезам не верит", "Кин-дза-дза"]),
    ("wife", "Мою жену зовут {v}.", "Как зовут мою жену?|Напомни имя моей жены.", "",
     ["Ольга", "Наталья", "Ирина", "Светлана", "Елена", "Татьяна"]),
    ("allergy", "Запомни, что у меня аллергия на {v}.", "На что у меня аллергия?|Есть ли у меня аллергия?", "",
     ["орехи", "пыльцу", "кошек", "мёд", "пенициллин"]),
]  # fmt: skip
ACTIVITIES_EN = [
    "went hiking in the mountains", "baked sourdough bread", "visited the science museum",
    "repaired my bicycle", "went to a jazz concert", "painted the kitchen walls", "played chess in the park",
    "went fishing at the lake", "built a bookshelf", "ran a half marathon", "planted tomatoes",
    "watched a football match", "cleaned the garage", "took a pottery class",
]  # fmt: skip
ACTIVITIES_RU = [
    "ходил в поход в горы", "пёк хлеб", "был в музее космонавтики", "чинил велосипед", "ходил на джазовый концерт",
    "красил стены на кухне", "играл в шахматы в парке", "ездил на рыбалку", "собирал книжную полку",
    "бегал полумарафон", "сажал помидоры", "смотрел футбол", "убирал гараж", "ходил на гончарный мастер-класс",
]  # fmt: skip
SMALL_TALK_EN = [
    ("Can you recommend a good book about history?", "Try 'Sapiens' by Yuval Noah Harari."),
    ("How do I boil an egg?", "Put it in boiling water for about eight minutes."),
    ("What's the capital of Australia?", "Canberra."),
    ("Tell me a joke.", "Why did the scarecrow win an award? He was outstanding in his field."),
    ("How many legs does a spider have?", "Eight."),
    ("What is photosynthesis?", "How plants turn light, water and CO2 into sugar and oxygen."),
    ("Is it going to rain, do you think?", "I can't see the weather, but take an umbrella to be safe."),
]  # fmt: skip
SMALL_TALK_RU = [
    ("Посоветуй хорошую книгу по истории.", "Попробуйте «Историю государства Российского» Карамзина."),
    ("Как сварить яйцо?", "Положите его в кипящую воду минут на восемь."),
    ("Какая столица Австралии?", "Канберра."),
    ("Расскажи анекдот.", "Штирлиц шёл по лесу и думал о Родине."),
    ("Сколько ног у паука?", "Восемь."),
    ("Что такое фотосинтез?", "Так растения превращают свет, воду и CO2 в сахар и кислород."),
]  # fmt: skip
FRIENDS_EN = ["Anna", "Tom", "Ivan", "Lena", "Paul", "Sara", "Mark", "Julia"]
FRIENDS_RU = ["Аня", "Петя", "Ваня", "Лена", "Паша", "Саша", "Марк", "Юля"]
DISTRACTOR_EN = {
    "dog": "My friend {f} has a dog called {v}.", "city": "My friend {f} lives in {v}.",
    "colour": "My friend {f} loves the colour {v}.", "job": "My friend {f} works as a {v}.",
    "car": "My friend {f} drives a {v}.", "sister": "My friend {f} has a sister called {v}.",
    "food": "My friend {f} can't stop eating {v}.", "allergy": "My friend {f} is allergic to {v}.",
}  # fmt: skip
DISTRACTOR_RU = {
    "dog": "У моего друга {f} есть собака по кличке {v}.", "city": "Мой друг {f} живёт в городе {v}.",
    "colour": "Мой друг {f} обожает {v} цвет.", "job": "Мой друг {f} работает {v}.",
    "film": "Мой друг {f} пересматривает фильм «{v}».", "wife": "Жену моего друга {f} зовут {v}.",
    "allergy": "У моего друга {f} аллергия на {v}.",
}  # fmt: skip
TIME_QUESTIONS_EN = [(1, "What did I do yesterday?"), (3, "What did I get up to 3 days ago?"),
                     (8, "What did I do last week?"), (8, "What was I doing eight days ago?")]  # fmt: skip
TIME_QUESTIONS_RU = [(1, "Что я делал вчера?"), (3, "Чем я занимался три дня назад?"),
                     (8, "Что я делал на прошлой неделе?"), (8, "Что я делал 8 дней назад?")]  # fmt: skip
ACK_EN = ["Got it, I'll remember that.", "Thanks for telling me!", "Good to know.", "Noted!"]
ACK_RU = ["Понял, запомню.", "Спасибо, что рассказали!", "Хорошо, буду знать.", "Записал!"]


@dataclass
class Question:
    person: str
    text: str
    kind: str  # fact | updated | time
    expected: str  # the round that answers it
    stale: str | None = None  # for "updated": the round the update replaced


@dataclass
class Person:
    key: str
    russian: bool
    facts: dict[str, str] = field(default_factory=dict)  # key -> current value
    rounds: list[tuple[str, str, str, datetime, str]] = field(default_factory=list)  # q, a, conv, at, tag


def generate(persons: int, seed: int) -> tuple[list[Person], list[tuple[str, str, str]]]:
    """The persons with their rounds, and the question plan (person key, kind, tag of the answer)."""
    rng = random.Random(seed)
    people: list[Person] = []
    for n in range(persons):
        key = f"user:p{n}" if n % 3 else f"telegram:77:{1000 + n}"
        people.append(Person(key, russian=n % 5 in (1, 3)))
    # every person's facts first, so distractors can quote other persons' actual values
    for person in people:
        for key, _, _, _, values in rng.sample(FACTS_RU if person.russian else FACTS_EN, 5):
            person.facts[key] = rng.choice(values)
    plan: list[tuple[str, str, str]] = []
    for person in people:
        facts = {f[0]: f for f in (FACTS_RU if person.russian else FACTS_EN)}
        activities = rng.sample(ACTIVITIES_RU if person.russian else ACTIVITIES_EN, SESSIONS)
        small_talk = SMALL_TALK_RU if person.russian else SMALL_TALK_EN
        acks = ACK_RU if person.russian else ACK_EN
        stated = list(person.facts)
        updatable = [k for k in stated if facts[k][3]]
        updates = dict(
            zip(rng.sample(updatable, min(2, len(updatable))), rng.sample(UPDATE_SESSIONS, 2), strict=False)
        )
        # the facts are told in sessions 0-5; updates in 6-9
        told_in = {k: rng.randrange(0, 6) for k in stated}
        same_language = [p for p in people if p.russian == person.russian and p is not person]
        same_language = same_language or [p for p in people if p is not person]  # a tiny run
        for session in range(SESSIONS):
            conversation = f"{person.key}-s{session}"
            day = NOW - timedelta(days=SESSION_DAYS_BEFORE[session])
            at = day.replace(hour=rng.randrange(9, 20), minute=rng.randrange(60))
            items: list[tuple[str, str, str]] = []
            for key in stated:
                if told_in[key] == session:
                    items.append((facts[key][1].format(v=person.facts[key]), rng.choice(acks), f"fact:{key}"))
                if updates.get(key) == session:
                    values = [v for v in facts[key][4] if v != person.facts[key]]
                    person.facts[key] = rng.choice(values)
                    items.append(
                        (facts[key][3].format(v=person.facts[key]), rng.choice(acks), f"update:{key}")
                    )
            activity = activities[session]
            items.append(
                (
                    (f"Сегодня я {activity}." if person.russian else f"Today I {activity}."),
                    rng.choice(acks),
                    f"activity:{session}",
                )
            )
            for q, a in rng.sample(small_talk, 2):
                items.append((q, a, "small"))
            other = rng.choice(same_language)
            key = rng.choice(list(other.facts))
            friend = rng.choice(FRIENDS_RU if person.russian else FRIENDS_EN)
            template = (
                (DISTRACTOR_RU if person.russian else DISTRACTOR_EN).get(key)
                if other.russian == person.russian
                else None
            )
            if template:
                items.append((template.format(f=friend, v=other.facts[key]), rng.choice(acks), "distractor"))
            rng.shuffle(items)
            for i, (q, a, tag) in enumerate(items):
                person.rounds.append((q, a, conversation, at + timedelta(minutes=3 * i), tag))
        for key in stated:
            plan.append((person.key, "updated" if key in updates else "fact", key))
        for days, _ in rng.sample(TIME_QUESTIONS_RU if person.russian else TIME_QUESTIONS_EN, 2):
            plan.append((person.key, "time", str(days)))
    return people, plan


def questions(people: list[Person], plan: list[tuple[str, str, str]], ids: dict[tuple[str, str], str],
              seed: int) -> list[Question]:  # fmt: skip
    rng = random.Random(seed + 1)
    by_key = {p.key: p for p in people}
    out: list[Question] = []
    for person_key, kind, what in plan:
        person = by_key[person_key]
        facts = {f[0]: f for f in (FACTS_RU if person.russian else FACTS_EN)}
        if kind == "time":
            days = int(what)
            session = SESSION_DAYS_BEFORE.index(days)
            texts = [t for d, t in (TIME_QUESTIONS_RU if person.russian else TIME_QUESTIONS_EN) if d == days]
            out.append(
                Question(person_key, rng.choice(texts), "time", ids[(person_key, f"activity:{session}")])
            )
        elif kind == "updated":
            out.append(Question(person_key, rng.choice(facts[what][2].split("|")), "updated", ids[(person_key, f"update:{what}")],
                                stale=ids[(person_key, f"fact:{what}")]))  # fmt: skip
        else:
            out.append(
                Question(
                    person_key,
                    rng.choice(facts[what][2].split("|")),
                    "fact",
                    ids[(person_key, f"fact:{what}")],
                )
            )
    return out


def fill(store: MemoryStore, people: list[Person]) -> tuple[dict[tuple[str, str], str], dict[str, set[str]]]:
    """Writes every round; (person, tag) -> record id for tagged rounds, and each person's ids."""
    ids: dict[tuple[str, str], str] = {}
    owned: dict[str, set[str]] = {}
    for person in people:
        records = store.remember_many(
            person.key, [(q, a, conv, "telegram" if person.key.startswith("telegram") else "web", at)
                         for q, a, conv, at, _ in person.rounds],
        )  # fmt: skip
        owned[person.key] = {r.id for r in records}
        for record, (_, _, _, _, tag) in zip(records, person.rounds, strict=True):
            if tag not in ("small", "distractor"):
                ids[(person.key, tag)] = record.id
    return ids, owned


Method = Callable[[Question], list[MemoryRecord]]


@dataclass
class Score:
    hits: dict[str, list[bool]] = field(default_factory=dict)
    stale: list[bool] = field(default_factory=list)
    leaked: int = 0
    returned: int = 0

    def recall(self, kind: str | None = None) -> float:
        values = [h for k, hs in self.hits.items() if kind in (None, k) for h in hs]
        return sum(values) / len(values) if values else 0.0


def evaluate(method: Method, qs: list[Question], owned: dict[str, set[str]]) -> Score:
    result = Score()
    for q in qs:
        got = [r.id for r in method(q)][:K]
        result.returned += len(got)
        result.leaked += sum(1 for memory_id in got if memory_id not in owned[q.person])
        result.hits.setdefault(q.kind, []).append(q.expected in got)
        if q.stale is not None:
            stale_rank = got.index(q.stale) if q.stale in got else None
            update_rank = got.index(q.expected) if q.expected in got else len(got) + 1
            result.stale.append(stale_rank is not None and stale_rank < update_rank)
    return result


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000


def latency(
    embedder: Embedder, records: int, queries: int, workdir: Path, seed: int
) -> dict[str, tuple[float, float]]:
    """Recall p50/p95 (ms) for one person holding ``records`` rounds, another holding a tenth."""
    rng = random.Random(seed + 2)
    store = MemoryStore(workdir / "latency", embedder)
    try:
        for person, count in (("user:big", records), ("user:other", max(1, records // 10))):
            rounds = []
            start = NOW - timedelta(days=365)
            for i in range(count):
                _, statement, _, _, values = rng.choice(FACTS_EN + FACTS_RU)
                if i % 3 == 0:
                    q, a = statement.format(v=rng.choice(values)), rng.choice(ACK_EN)
                elif i % 3 == 1:
                    q, a = rng.choice(SMALL_TALK_EN + SMALL_TALK_RU)
                else:
                    q, a = (
                        f"Today I {rng.choice(ACTIVITIES_EN)} with {rng.choice(FRIENDS_EN)}.",
                        rng.choice(ACK_EN),
                    )
                rounds.append((f"{q} (#{i})", a, f"c{i // 20}", "web", start + timedelta(minutes=50 * i)))
            for first in range(0, len(rounds), 256):
                store.remember_many(person, rounds[first : first + 256])
        probes = [q for f in FACTS_EN + FACTS_RU for q in f[2].split("|")] + [
            t for _, t in TIME_QUESTIONS_EN + TIME_QUESTIONS_RU
        ]
        out: dict[str, tuple[float, float]] = {}
        modes: tuple[Mode, ...] = ("hybrid", "dense")
        for mode in modes:
            store.recall("user:big", probes[0], now=NOW, mode=mode)  # loads the person's indexes
            samples = []
            for i in range(queries):
                t0 = time.perf_counter()
                store.recall("user:big", probes[i % len(probes)], now=NOW, mode=mode)
                samples.append(time.perf_counter() - t0)
            out[mode] = percentiles(samples)
        samples = []
        for i in range(queries):  # the query embedding alone, the part the store does not control
            t0 = time.perf_counter()
            embedder.embed_query(probes[i % len(probes)])
            samples.append(time.perf_counter() - t0)
        out["embedding"] = percentiles(samples)
        return out
    finally:
        store.close()


def run(persons: int, latency_records: int, latency_queries: int, seed: int) -> str:
    embedder = E5Embedder("multilingual-e5-small")
    people, plan = generate(persons, seed)
    with tempfile.TemporaryDirectory() as tmp:
        store = MemoryStore(Path(tmp) / "eval", embedder)
        t0 = time.perf_counter()
        ids, owned = fill(store, people)
        fill_s = time.perf_counter() - t0
        qs = questions(people, plan, ids, seed)

        def recall(mode: Mode) -> Method:
            return lambda q: store.recall(q.person, q.text, now=NOW, exclude_conversation="new", mode=mode)

        methods: dict[str, Method] = {
            "no memory": lambda q: [],
            f"last {K} rounds": lambda q: store.newest(q.person, K),
            "dense only": recall("dense"),
            "memory (hybrid)": recall("hybrid"),
        }
        scores = {name: evaluate(method, qs, owned) for name, method in methods.items()}
        store.close()
        timings = latency(embedder, latency_records, latency_queries, Path(tmp), seed)
    rounds = sum(len(p.rounds) for p in people)
    kinds = {k: sum(1 for q in qs if q.kind == k) for k in ("fact", "updated", "time")}
    lines = [
        f"{persons} persons ({sum(p.russian for p in people)} Russian-speaking) x {SESSIONS} sessions = {rounds} rounds "
        f"(written in {fill_s:.0f} s, e5 embedding included); {len(qs)} questions: {kinds['fact']} earlier-session "
        f"facts, {kinds['updated']} updated facts, {kinds['time']} time references. Seed {seed}.",
        "",
        "| method | Recall@5 | facts | updated | time | stale above update | leakage | p50 ms | p95 ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in scores.items():
        stale = sum(s.stale) / len(s.stale) if s.stale else 0.0
        timing = timings.get(
            "hybrid" if name.startswith("memory") else "dense" if name == "dense only" else ""
        )
        p50, p95 = (f"{timing[0]:.1f}", f"{timing[1]:.1f}") if timing else ("-", "-")
        lines.append(
            f"| {name} | {s.recall():.3f} | {s.recall('fact'):.3f} | {s.recall('updated'):.3f} | "
            f"{s.recall('time'):.3f} | {stale:.3f} | {s.leaked} | {p50} | {p95} |"
        )
    lines += [
        "",
        f"Latency: `MemoryStore.recall` (query embedding included) for one person holding {latency_records:,} rounds "
        f"while another holds {max(1, latency_records // 10):,}, {latency_queries} queries after one warm-up; the person's "
        "indexes are loaded on their first recall (not timed). Of that, the e5 query embedding alone: "
        f"p50 {timings['embedding'][0]:.1f} ms, p95 {timings['embedding'][1]:.1f} ms. "
        "Leakage counts recalled rounds of another person. "
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores (shared), Python {platform.python_version()}, "
        f"load average {os.getloadavg()[1]:.1f} at the end.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=50)
    parser.add_argument("--latency-records", type=int, default=10_000, help="rounds of the person timed")
    parser.add_argument("--latency-queries", type=int, default=200, help="recalls timed per method")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--write-doc", action="store_true", help="write the table into docs/benchmarks.md")
    args = parser.parse_args()
    if args.persons < 2:
        parser.error("--persons must be at least 2 (distractors quote another person)")
    body = run(args.persons, args.latency_records, args.latency_queries, args.seed)
    print(body, flush=True)
    if args.write_doc:
        from benchmarks_doc import write_section

        write_section(HEADING, body)
        print(f"\nwrote the section {HEADING!r} of docs/benchmarks.md")


if __name__ == "__main__":
    main()
