"""run.bat and its PowerShell helpers, checked by reading them (no Windows, no PowerShell here):
every jump lands on a label, every script it calls exists, the "WSL2 unavailable" exit code is the
one run.bat falls back on, and the messages name the commands an owner needs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN_BAT = (ROOT / "run.bat").read_text(encoding="utf-8")
WSL_ROUTE = (ROOT / "scripts/windows/wsl_route.ps1").read_text(encoding="utf-8")
SHORTCUTS = (ROOT / "scripts/windows/shortcuts.ps1").read_text(encoding="utf-8")


def test_every_goto_has_its_label_and_every_mode_is_handled():
    labels = set(re.findall(r"^:(\w+)", RUN_BAT, re.MULTILINE))
    targets = set(re.findall(r"\bgoto (\w+)", RUN_BAT))
    assert targets <= labels
    modes = set(re.findall(r'if /I "%MODE%"=="(\w+)" goto (\w+)', RUN_BAT))
    assert {mode for mode, _ in modes} == {"agent", "native", "stop", "shortcuts", "gateway", "stack"}


def test_every_script_run_bat_calls_exists():
    called = re.findall(r'"%ROOT%([^"]+\.ps1)"', RUN_BAT)
    assert called
    for path in called:
        assert (ROOT / path.replace("\\", "/")).is_file(), path


def test_the_agent_falls_back_to_native_exactly_when_wsl2_is_unavailable():
    (unavailable,) = re.findall(r"^\$Unavailable = (\d+)", WSL_ROUTE, re.MULTILINE)
    agent = RUN_BAT[RUN_BAT.index(":agent") : RUN_BAT.index(":native")]
    assert "wsl_route.ps1\" -Action start -Mode agent" in agent
    assert f"if %ERRORLEVEL% NEQ {unavailable} exit /b %ERRORLEVEL%" in agent
    assert agent.rstrip().endswith("goto native")
    # Each missing piece is explained with the command that installs it, then the route gives way.
    assert WSL_ROUTE.count("exit $Unavailable") == 2 and WSL_ROUTE.count("return $null") == 4
    assert '$InstallCommand = "wsl --install -d Ubuntu"' in WSL_ROUTE
    assert "wsl --set-version" in WSL_ROUTE  # an Ubuntu still on WSL 1


def test_wsl_runs_run_sh_from_the_bundle_folder_translated_by_wslpath():
    assert '@("-d", $distro, "-e", "wslpath", "-a", $Root)' in WSL_ROUTE
    assert "--cd $linuxRoot -e bash ./run.sh $Mode" in WSL_ROUTE
    assert "--cd $linuxRoot -e bash ./run.sh stop" in WSL_ROUTE
    run_sh = (ROOT / "run.sh").read_text(encoding="utf-8")
    assert re.search(r"^\s+stop\)", run_sh, re.MULTILINE)


def test_shortcuts_start_and_stop_and_the_logon_task_run_run_bat():
    assert '@{ Name = "Start AI Clone"; Args = "agent"' in SHORTCUTS
    assert '@{ Name = "Stop AI Clone"; Args = "stop"' in SHORTCUTS
    assert "New-ScheduledTaskTrigger -AtLogOn" in SHORTCUTS and "Unregister-ScheduledTask" in SHORTCUTS
    assert '$RunBat = Join-Path $Root "run.bat"' in SHORTCUTS
