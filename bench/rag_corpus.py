"""Writes bench/data/rag_corpus.json: a small Russian + English knowledge base with questions.

Each document describes one fictional business, one paragraph per topic (prices, hours,
warranty, delivery, returns, contacts), and each question asks about one paragraph in other
words than the paragraph uses, so both exact-word and meaning-based retrieval are tested.
Deterministic: ``python bench/rag_corpus.py`` rewrites the same file.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent / "data" / "rag_corpus.json"

EN_NAMES = [
    ("Bluefin Bakery", "sourdough loaf"), ("Northwind Cycles", "gravel bike"), ("Maple Print Shop", "poster print"),
    ("Harbor Yoga", "monthly pass"), ("Copperleaf Tea", "oolong tin"), ("Quill & Ink", "fountain pen"),
    ("Pinecone Daycare", "full-day place"), ("Redstone Garage", "brake service"), ("Silverline Optics", "reading glasses"),
    ("Orchard Florist", "wedding bouquet"), ("Lumen Lamps", "desk lamp"), ("Ridge Hiking Gear", "trail backpack"),
]
RU_NAMES = [
    ("Пекарня «Колос»", "ржаной хлеб"), ("Велосервис «Спица»", "городской велосипед"), ("Типография «Оттиск»", "визитки"),
    ("Студия «Асана»", "абонемент на месяц"), ("Чайная «Самовар»", "пуэр"), ("Мастерская «Перо»", "кожаный блокнот"),
    ("Детский сад «Солнышко»", "полный день"), ("Автосервис «Поршень»", "замена масла"), ("Оптика «Зоркий»", "очки для чтения"),
    ("Цветочная лавка «Ромашка»", "свадебный букет"), ("Светильники «Люмен»", "настольная лампа"), ("Снаряжение «Перевал»", "туристический рюкзак"),
]
DAYS_EN = ["Monday to Friday", "Tuesday to Saturday", "every day except Sunday", "Wednesday to Sunday"]
DAYS_RU = ["с понедельника по пятницу", "со вторника по субботу", "ежедневно, кроме воскресенья", "со среды по воскресенье"]
CITIES_EN = ["Lisbon", "Porto", "Madrid", "Vienna", "Prague", "Krakow"]
CITIES_RU = ["Казань", "Новосибирск", "Екатеринбург", "Самару", "Томск", "Калининград"]


def english(rng: random.Random, name: str, item: str) -> tuple[list[str], list[tuple[str, int]]]:
    price, months, days = rng.randint(12, 480), rng.choice([6, 12, 18, 24, 36]), rng.randint(2, 9)
    opens, closes, city = rng.randint(7, 10), rng.randint(17, 21), rng.choice(CITIES_EN)
    week, refund = rng.choice(DAYS_EN), rng.choice([14, 21, 30, 60])
    phone = f"+351 21 {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
    paragraphs = [
        f"{name} price list. A {item} costs {price} euros; regular customers get a ten percent discount.",
        f"{name} is open {week}, from {opens}:00 until {closes}:00. Public holidays follow the Sunday timetable.",
        f"Guarantee at {name}: every {item} is covered for {months} months against manufacturing defects.",
        f"{name} ships orders to {city} by courier; parcels arrive within {days} working days after payment.",
        f"Refunds at {name}: unused goods can be brought back within {refund} days with the receipt.",
        f"To reach {name}, call {phone} or write to the front desk; the manager answers within one day.",
    ]
    questions = [
        (f"How much do I pay for a {item} at {name}?", 0),
        (f"What time does {name} close?", 1),
        (f"How long is the warranty for the {item} from {name}?", 2),
        (f"How many days does delivery from {name} to {city} take?", 3),
        (f"Can I return something I bought at {name}, and until when?", 4),
        (f"What is the phone number of {name}?", 5),
    ]
    return paragraphs, questions


def russian(rng: random.Random, name: str, item: str) -> tuple[list[str], list[tuple[str, int]]]:
    price, months, days = rng.randint(300, 9000), rng.choice([6, 12, 18, 24, 36]), rng.randint(2, 9)
    opens, closes, city = rng.randint(7, 10), rng.randint(17, 21), rng.choice(CITIES_RU)
    week, refund = rng.choice(DAYS_RU), rng.choice([7, 14, 21, 30])
    phone = f"+7 495 {rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}"
    paragraphs = [
        f"Прайс-лист: {name}. Позиция «{item}» стоит {price} рублей, постоянным клиентам скидка десять процентов.",
        f"{name} работает {week}, с {opens}:00 до {closes}:00. В праздники действует воскресный график.",
        f"Гарантийные обязательства. {name} даёт на позицию «{item}» гарантию {months} месяцев на заводской брак.",
        f"Доставка. {name} отправляет заказы в {city} курьером, посылка приходит за {days} рабочих дней после оплаты.",
        f"Возврат. {name} принимает неиспользованный товар обратно в течение {refund} дней при наличии чека.",
        f"Связаться с нами: {name}, телефон {phone}, менеджер отвечает в течение одного дня.",
    ]
    questions = [
        (f"Сколько стоит {item} в заведении {name}?", 0),
        (f"До скольки открыто заведение {name}?", 1),
        (f"Какой гарантийный срок даёт {name}?", 2),
        (f"Сколько дней ждать посылку от {name} в {city}?", 3),
        (f"Можно ли сдать покупку обратно в {name} и в какой срок?", 4),
        (f"По какому номеру позвонить в {name}?", 5),
    ]
    return paragraphs, questions


def build() -> dict:
    rng = random.Random(20261121)
    documents, questions = [], []
    for lang, names, write in (("en", EN_NAMES, english), ("ru", RU_NAMES, russian)):
        for number, (name, item) in enumerate(names):
            paragraphs, asked = write(rng, name, item)
            doc_id = f"{lang}-{number:02d}"
            documents.append({"id": doc_id, "lang": lang, "name": f"{doc_id}.txt", "paragraphs": paragraphs})
            questions += [{"lang": lang, "question": q, "document": doc_id, "paragraph": p} for q, p in asked]
            # Cross-language: the owner asks in the other language than the document is written in.
            if lang == "en":
                crossed = [(f"Какая гарантия на {item} в {name}?", 2), (f"Сколько идёт доставка от {name}?", 3)]
            else:
                crossed = [(f"How long is the warranty at {name}?", 2), (f"How fast does {name} deliver?", 3)]
            questions += [{"lang": "cross", "question": q, "document": doc_id, "paragraph": p} for q, p in crossed]
    return {"documents": documents, "questions": questions}


if __name__ == "__main__":
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(build(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
