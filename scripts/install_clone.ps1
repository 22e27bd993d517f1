# Windows twin of scripts/install_clone.sh: installs a clone trained on the platform into this
# bundle, then starts it. The download logic is Python's (python -m aiclone_agent install-clone).
# Usage: scripts\install_clone.ps1 -CloneId ID -Token KEY [-Platform URL] [-Dir DIR] [-NoStart]
#   The key can also come from $env:AICLONE_PLATFORM_TOKEN.
param(
  [Parameter(Mandatory = $true)][string]$CloneId,
  [string]$Token = "",
  [string]$Platform = "",
  [string]$Dir = "",
  [switch]$NoStart
)
$ErrorActionPreference = "Stop"
$Root = Split-Path -Parent $PSScriptRoot
if (-not $Dir) { $Dir = $Root }
New-Item -ItemType Directory -Force -Path $Dir | Out-Null
$Dir = (Resolve-Path $Dir).Path

if (-not $env:AICLONE_SKIP_SETUP) {
  $env:AICLONE_SKIP_MODEL_FETCH = "1"
  & (Join-Path $Root "scripts\setup_local.ps1")
  Remove-Item Env:AICLONE_SKIP_MODEL_FETCH
}
$Py = Join-Path $Root ".venv\Scripts\python.exe"
$PyArgs = @("-m", "aiclone_agent", "install-clone", "--clone-id", $CloneId, "--dir", $Dir)
if ($Token) { $PyArgs += @("--token", $Token) }
if ($Platform) { $PyArgs += @("--platform", $Platform) }
& $Py @PyArgs
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }

if ($NoStart) { exit 0 }
if ($Dir -ne $Root) {
  $env:AICLONE_CONFIG = Join-Path $Dir "config\config.yaml"
  $env:AICLONE_MODELS_DIR = Join-Path $Dir "models"
  $env:AICLONE_DATA_DIR = Join-Path $Dir "data"
}
& (Join-Path $Root "run.bat")
exit $LASTEXITCODE
