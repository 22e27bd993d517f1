"""The benchmarks' smoke runs: the real processes each bench starts, for seconds instead of minutes."""

from tests.local_inference.conftest import model_path  # noqa: F401 - the fixture, shared
