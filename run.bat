@echo off
rem run.bat [agent|native|stop|shortcuts [logon|remove]|gateway|stack] - Windows launcher.
rem   agent (default): the WSL2 route first: ./run.sh inside Ubuntu on WSL2 (CUDA through the Windows
rem     driver; the admin opens at http://127.0.0.1:3000). Without WSL2 it says what is missing and the
rem     one command that installs it, then takes the native route.
rem   native: the native route only: scripts\setup_local.ps1 (checks Python 3.10+, C++ build tools,
rem     CMake and names what is missing), then the agent with the Windows Python.
rem   stop: stops the agent (WSL2 or native).
rem   shortcuts: "Start AI Clone" / "Stop AI Clone" on the desktop and in the Start menu;
rem     "shortcuts logon" also starts it at logon (Task Scheduler); "shortcuts remove" undoes both.
setlocal
set "ROOT=%~dp0"
set "MODE=%~1"
if "%MODE%"=="" set "MODE=agent"
set "PS=powershell -NoProfile -ExecutionPolicy Bypass -File"

if /I "%MODE%"=="agent" goto agent
if /I "%MODE%"=="native" goto native
if /I "%MODE%"=="stop" goto stop
if /I "%MODE%"=="shortcuts" goto shortcuts
if /I "%MODE%"=="gateway" goto gateway
if /I "%MODE%"=="stack" goto stack
echo run.bat: unknown mode '%MODE%' (expected agent, native, stop, shortcuts, gateway or stack) 1>&2
exit /b 2

:agent
%PS% "%ROOT%scripts\windows\wsl_route.ps1" -Action start -Mode agent
if %ERRORLEVEL% NEQ 3 exit /b %ERRORLEVEL%
echo run.bat: taking the native route instead (Windows Python; llama.cpp compiled with Visual Studio's tools)
goto native

:native
%PS% "%ROOT%scripts\setup_local.ps1" || exit /b 1
"%ROOT%.venv\Scripts\python.exe" -m aiclone_agent serve
exit /b %ERRORLEVEL%

:stop
%PS% "%ROOT%scripts\windows\wsl_route.ps1" -Action stop >nul 2>&1
%PS% "%ROOT%scripts\windows\stop_native.ps1"
exit /b 0

:shortcuts
if /I "%~2"=="remove" (%PS% "%ROOT%scripts\windows\shortcuts.ps1" -Remove & exit /b %ERRORLEVEL%)
if /I "%~2"=="logon" (%PS% "%ROOT%scripts\windows\shortcuts.ps1" -AtLogon & exit /b %ERRORLEVEL%)
%PS% "%ROOT%scripts\windows\shortcuts.ps1"
exit /b %ERRORLEVEL%

:stack
rem The whole stack on one machine is scripted in run.sh: WSL2 runs it; natively it is two windows.
%PS% "%ROOT%scripts\windows\wsl_route.ps1" -Action start -Mode stack
if %ERRORLEVEL% NEQ 3 exit /b %ERRORLEVEL%
echo run.bat: natively, start "run.bat gateway" and "run.bat native" in two windows, 1>&2
echo then paste the gateway URL and an agent token in the admin panel's Gateway section. 1>&2
exit /b 2

:gateway
%PS% "%ROOT%scripts\setup_local.ps1" -Gateway || exit /b 1
"%ROOT%.venv\Scripts\python.exe" -m aiclone_gateway serve
exit /b %ERRORLEVEL%
