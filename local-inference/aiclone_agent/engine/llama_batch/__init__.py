"""The llama.cpp engine: continuous batching in one context (see ``engine.py``)."""
