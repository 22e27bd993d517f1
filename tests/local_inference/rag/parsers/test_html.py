"""HTML: what a reader sees, never scripts or styles."""

from __future__ import annotations

from aiclone_agent.rag.parsers.html import extract


def test_visible_text_only_with_blocks_on_their_own_lines():
    markup = (
        "<html><head><title>Прайс</title><style>.x{}</style><script>alert('x')</script></head>"
        "<body><h1>Цены</h1><p>Стрижка &mdash; 1500&nbsp;руб.</p><ul><li>Chai: 3 EUR</li><li>Coffee: 4 EUR</li></ul></body></html>"
    )
    text = extract(markup)
    assert "alert" not in text and ".x{}" not in text and "Прайс" not in text
    assert text == "Цены\n\nСтрижка — 1500 руб.\n\nChai: 3 EUR\n\nCoffee: 4 EUR"
