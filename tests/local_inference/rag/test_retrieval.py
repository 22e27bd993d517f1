"""Reciprocal rank fusion: agreement between rankings wins, ties are stable."""

from __future__ import annotations

from aiclone_agent.rag.retrieval import reciprocal_rank_fusion


def test_a_chunk_both_rankings_like_beats_one_only_one_likes_best():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "d", "a"]])
    assert [chunk_id for chunk_id, _ in fused] == ["b", "a", "d", "c"]
    assert fused[0][1] == 1 / 62 + 1 / 61
