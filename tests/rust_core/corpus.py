"""A deterministic mixed corpus: Russian, English, emoji, code, numbers, whitespace runs."""

from __future__ import annotations

import random

_RU = "Съешь же ещё этих мягких французских булок, да выпей чаю. Ёжик в тумане — «классика»! Привет, мир?"
_EN = "The quick brown fox jumps over the lazy dog. It's they'll we're I'm you've she'd CAPS Don't!"
_EMOJI = ["😀", "👍🏽", "🇷🇺", "👨‍👩‍👧", "❤️", "🤖", "✨", "🔥"]
_CODE = [
    "def f(x):\n    return x**2  # square",
    "for (int i = 0; i < n; ++i) { sum += a[i]; }",
    "fn main() { println!(\"{}\", 42_u64); }",
    "SELECT id, name FROM users WHERE age >= 18;",
    "<div class=\"a\">&nbsp;</div>",
    "x = {'k': [1, 2.5, -3e10], \"v\": None}",
]
_SPECIAL = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<file_sep>"]


def lines(n: int = 2400, seed: int = 20240601) -> list[str]:
    rng = random.Random(seed)
    words = (_RU + " " + _EN).split()
    out = []
    for i in range(n):
        kind = i % 8
        if kind == 0:
            line = " ".join(rng.choice(words) for _ in range(rng.randint(1, 25)))
        elif kind == 1:
            line = rng.choice(_CODE)
        elif kind == 2:
            line = " ".join(str(rng.choice([rng.randint(0, 10**9), rng.random() * 1e4, -rng.randint(1, 999)])) for _ in range(5))
        elif kind == 3:
            line = "".join(rng.choice(_EMOJI) + rng.choice(["", " ", "  "]) for _ in range(rng.randint(1, 6)))
        elif kind == 4:
            ws = ["", " ", "  ", "   ", "\t", "\n", "\n\n", " \n ", "\u00a0", "\u3000"]
            line = rng.choice(ws) + rng.choice(words) + rng.choice(ws) + rng.choice(words) + rng.choice(ws)
        elif kind == 5:
            line = _RU[: rng.randint(0, len(_RU))] + rng.choice(_EMOJI) + _EN[rng.randint(0, len(_EN)) :]
        elif kind == 6:
            line = f"{rng.choice(_SPECIAL)}user\n{rng.choice(words)} {rng.randint(0, 99)}{rng.choice(_SPECIAL)}\n"
        else:
            line = "".join(chr(rng.choice([rng.randint(0x20, 0x7E), rng.randint(0x400, 0x4FF), rng.randint(0x1F300, 0x1F5FF)])) for _ in range(rng.randint(0, 30)))
        out.append(line)
    return out
