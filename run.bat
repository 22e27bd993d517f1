@echo off
rem run.bat [agent|gateway|stack] - Windows twin of run.sh: set up on first run, then start.
setlocal
set "ROOT=%~dp0"
set "MODE=%~1"
if "%MODE%"=="" set "MODE=agent"

if /I "%MODE%"=="agent" goto agent
if /I "%MODE%"=="gateway" goto nogateway
if /I "%MODE%"=="stack" goto nogateway
echo run.bat: unknown mode '%MODE%' (expected agent, gateway or stack) 1>&2
exit /b 2

:nogateway
echo run.bat: '%MODE%' needs the gateway (backend\), which is not part of this release yet; use run.bat agent 1>&2
exit /b 2

:agent
powershell -NoProfile -ExecutionPolicy Bypass -File "%ROOT%scripts\setup_local.ps1" || exit /b 1
"%ROOT%.venv\Scripts\python.exe" -m aiclone_agent serve
