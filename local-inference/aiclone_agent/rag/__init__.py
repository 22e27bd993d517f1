"""Retrieval-augmented generation: documents the owner uploads, indexed and cited in answers."""
