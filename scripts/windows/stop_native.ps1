# Stops an agent that the native route (run.bat native) started from this folder: the python.exe
# of this bundle's .venv running "aiclone_agent serve", and nothing else.
$ErrorActionPreference = "Stop"
$Root = (Resolve-Path (Join-Path $PSScriptRoot "..\..")).Path
$Venv = Join-Path $Root ".venv"
$agents = @(Get-CimInstance Win32_Process -Filter "Name = 'python.exe'" | Where-Object {
    $_.ExecutablePath -and $_.ExecutablePath.StartsWith($Venv, [StringComparison]::OrdinalIgnoreCase) -and
    $_.CommandLine -like "*aiclone_agent serve*"
  })
if ($agents.Count -eq 0) { Write-Host "AI Clone: no native agent running from $Root"; exit 0 }
foreach ($p in $agents) { Stop-Process -Id $p.ProcessId -Force; Write-Host "AI Clone: stopped the agent (pid $($p.ProcessId))" }
