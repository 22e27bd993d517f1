"""scripts/typescript.py, the one command line that regenerates the web UI's TypeScript from both
programs' models: run as the developer runs it, and on a file that drifted."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from aiclone_wire.typescript import Generated, generate

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "typescript.py"


def _script():
    spec = importlib.util.spec_from_file_location("typescript_script", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_checked_in_files_are_current_for_the_command_line():
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in ("local-inference", "backend", "wire")),
    }
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_it_covers_each_programs_generated_files():
    targets = {file.target.name for file in _script().FILES}
    assert targets == {"chatFrames.ts", "agentChatEvents.ts", "agentOverview.ts"}


def test_a_drifted_file_is_reported_by_check_and_rewritten_without_it(tmp_path: Path, capsys):
    stale = tmp_path / "frames.ts"
    stale.write_text("// old\n", encoding="utf-8")
    current = tmp_path / "current.ts"
    current.write_text("// new\n", encoding="utf-8")
    files = [Generated(stale, lambda: "// new\n"), Generated(current, lambda: "// new\n")]

    assert generate(files, ["--check"]) == 1
    assert f"{stale} is out of date" in capsys.readouterr().err
    assert stale.read_text(encoding="utf-8") == "// old\n"
    assert generate(files, []) == 0
    assert stale.read_text(encoding="utf-8") == "// new\n"
    assert generate(files, ["--check"]) == 0
