@echo off
rem run.bat [agent|gateway|stack] - Windows twin of run.sh: set up on first run, then start.
setlocal
set "ROOT=%~dp0"
set "MODE=%~1"
if "%MODE%"=="" set "MODE=agent"

if /I "%MODE%"=="agent" goto agent
if /I "%MODE%"=="gateway" goto gateway
if /I "%MODE%"=="stack" goto nostack
echo run.bat: unknown mode '%MODE%' (expected agent, gateway or stack) 1>&2
exit /b 2

:nostack
echo run.bat: 'stack' is not scripted on Windows: start "run.bat gateway" and "run.bat agent" in two windows, 1>&2
echo then paste the gateway URL and an agent token in the admin panel's Gateway section. 1>&2
exit /b 2

:gateway
powershell -NoProfile -ExecutionPolicy Bypass -File "%ROOT%scripts\setup_local.ps1" -Gateway || exit /b 1
"%ROOT%.venv\Scripts\python.exe" -m aiclone_gateway serve
exit /b %ERRORLEVEL%

:agent
powershell -NoProfile -ExecutionPolicy Bypass -File "%ROOT%scripts\setup_local.ps1" || exit /b 1
"%ROOT%.venv\Scripts\python.exe" -m aiclone_agent serve
