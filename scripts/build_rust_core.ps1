# Windows twin of scripts/build_rust_core.sh: builds clone_core (rust-core/) with maturin and
# installs it into the venv; skipped when the sources did not change since the last build.
# Usage: scripts\build_rust_core.ps1 -Py .venv\Scripts\python.exe
param([Parameter(Mandatory = $true)][string]$Py)
$ErrorActionPreference = "Stop"

$Root = Split-Path -Parent $PSScriptRoot
if (-not $env:AICLONE_CACHE) { $env:AICLONE_CACHE = Join-Path $env:LOCALAPPDATA "aiclone" }
$env:CARGO_TARGET_DIR = Join-Path $env:AICLONE_CACHE "cargo-target"

$Files = Get-ChildItem -Path (Join-Path $Root "rust-core") -Recurse -File -Include *.rs, *.toml, *.py, *.pyi |
  Sort-Object FullName
$Files += Get-Item (Join-Path $Root "Cargo.toml"), (Join-Path $Root "Cargo.lock")
$Sha = [System.Security.Cryptography.SHA256]::Create()
$All = ($Files | ForEach-Object { (Get-FileHash -Algorithm SHA256 $_.FullName).Hash }) -join ""
$Stamp = ($Sha.ComputeHash([Text.Encoding]::UTF8.GetBytes($All)) | ForEach-Object { $_.ToString("x2") }) -join ""
$Site = & $Py -c "import sysconfig; print(sysconfig.get_paths()['purelib'])"
$StampFile = Join-Path $Site "clone_core.build-stamp"

& $Py -c "import clone_core" 2>$null
if ($LASTEXITCODE -eq 0 -and (Test-Path $StampFile) -and ((Get-Content $StampFile) -eq $Stamp)) {
  Write-Host "clone_core: up to date"
  exit 0
}
& $Py -m pip install -q "maturin>=1.7,<2"
$Wheels = Join-Path $env:AICLONE_CACHE "wheels\clone_core"
Remove-Item -Recurse -Force $Wheels -ErrorAction SilentlyContinue
& $Py -m maturin build --release -i $Py -m (Join-Path $Root "rust-core\python\Cargo.toml") -o $Wheels
if ($LASTEXITCODE -ne 0) { throw "building clone_core failed (Rust toolchain installed? https://rustup.rs)" }
& $Py -m pip install -q --force-reinstall --no-deps (Get-ChildItem $Wheels -Filter "clone_core-*.whl").FullName
Set-Content -Path $StampFile -Value $Stamp
Write-Host "clone_core: built and installed"
