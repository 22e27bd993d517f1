# Windows twin of scripts/setup_local.sh (and, with -Gateway, of setup_gateway.sh):
# .venv, Python deps, Rust core, web UI, config, default model.
# Usage: scripts\setup_local.ps1 [-Dev] [-Gateway]
param([switch]$Dev, [switch]$Gateway)
$ErrorActionPreference = "Stop"

$Root = Split-Path -Parent $PSScriptRoot
if (-not $env:AICLONE_CACHE) { $env:AICLONE_CACHE = Join-Path $env:LOCALAPPDATA "aiclone" }
$Venv = Join-Path $Root ".venv"
$Py = Join-Path $Venv "Scripts\python.exe"
$env:PIP_DISABLE_PIP_VERSION_CHECK = "1"

function Step($msg) { Write-Host "==> $msg" }
function HashText($text) {
  $sha = [System.Security.Cryptography.SHA256]::Create()
  ($sha.ComputeHash([Text.Encoding]::UTF8.GetBytes($text)) | ForEach-Object { $_.ToString("x2") }) -join ""
}

if (-not (Test-Path $Py)) {
  $base = if ($env:AICLONE_PYTHON) { $env:AICLONE_PYTHON } else { "py" }
  Step "Creating the virtual environment (.venv)"
  if ($base -eq "py") { & py -3 -m venv $Venv } else { & $base -m venv $Venv }
  & $Py -m pip install -q --upgrade pip wheel
}

if ($Gateway) {
  $Stamp = Join-Path $Venv (".gateway-deps-" + (HashText (Get-Content -Raw (Join-Path $Root "requirements.txt"))).Substring(0, 16))
  if (-not (Test-Path $Stamp)) {
    Step "Installing the gateway's Python packages"
    & $Py -m pip install -q -r (Join-Path $Root "requirements.txt")
    if ($LASTEXITCODE -ne 0) { throw "pip install failed" }
    New-Item -ItemType File -Path $Stamp | Out-Null
  }
  $Site = & $Py -c "import sysconfig; print(sysconfig.get_paths()['purelib'])"
  Set-Content -Path (Join-Path $Site "aiclone-gateway.pth") -Value @((Join-Path $Root "backend"), (Join-Path $Root "wire"))
  if (Get-Command npm -ErrorAction SilentlyContinue) {
    & npm --prefix (Join-Path $Root "frontend") ci --no-audit --no-fund
    & npm --prefix (Join-Path $Root "frontend") run build
  } else { Write-Warning "Node.js 20+ not found: the chat page is not built; the gateway serves its API only" }
  exit 0
}

# llama-cpp-python: one wheel per (version, CMAKE_ARGS, Python), kept in the cache.
$LlamaReq = (Select-String -Path (Join-Path $Root "requirements-local.txt") -Pattern '^llama-cpp-python==').Line
if (-not $env:CMAKE_ARGS) { $env:CMAKE_ARGS = "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" }
$PyVer = & $Py -c "import sys; print(sys.version_info[:2])"
$LlamaKey = (HashText "$LlamaReq|$env:CMAKE_ARGS|$env:PROCESSOR_ARCHITECTURE|$PyVer").Substring(0, 16)
$LlamaWheels = Join-Path $env:AICLONE_CACHE "wheels\llama-$LlamaKey"
if (-not (Get-ChildItem -Path $LlamaWheels -Filter "llama_cpp_python-*.whl" -ErrorAction SilentlyContinue)) {
  Step "Compiling $LlamaReq (once per machine; needs Visual Studio Build Tools and CMake)"
  & $Py -m pip wheel --no-deps --no-cache-dir -w $LlamaWheels $LlamaReq
  if ($LASTEXITCODE -ne 0) { throw "building llama-cpp-python failed" }
}

$Reqs = @((Join-Path $Root "requirements-local.txt"))
if ($Dev) { $Reqs += @((Join-Path $Root "requirements.txt"), (Join-Path $Root "requirements-dev.txt")) }
$Stamp = Join-Path $Venv (".deps-" + (HashText ((($Reqs | ForEach-Object { Get-Content -Raw $_ }) -join "") + $LlamaKey)).Substring(0, 16))
if (-not (Test-Path $Stamp)) {
  Step "Installing Python packages"
  $args = @("--find-links", $LlamaWheels)
  foreach ($r in $Reqs) { $args += @("-r", $r) }
  & $Py -m pip install @args
  if ($LASTEXITCODE -ne 0) { throw "pip install failed" }
  Get-ChildItem -Path $Venv -Filter ".deps-*" | Remove-Item
  New-Item -ItemType File -Path $Stamp | Out-Null
}

$Site = & $Py -c "import sysconfig; print(sysconfig.get_paths()['purelib'])"
Set-Content -Path (Join-Path $Site "aiclone.pth") -Value @((Join-Path $Root "local-inference"), (Join-Path $Root "backend"), (Join-Path $Root "wire"))

if (Get-Command npm -ErrorAction SilentlyContinue) {
  $Dist = Join-Path $Root "frontend\dist\admin\index.html"
  if (-not (Test-Path $Dist)) {
    Step "Building the web UI"
    & npm --prefix (Join-Path $Root "frontend") ci --no-audit --no-fund
    & npm --prefix (Join-Path $Root "frontend") run build
  }
} else { Write-Warning "Node.js 20+ not found: the agent serves its basic page instead of the admin panel" }

$RustCore = Join-Path $Root "scripts\build_rust_core.ps1"
if (Test-Path $RustCore) { & $RustCore -Py $Py }

$Config = Join-Path $Root "config\config.yaml"
if (-not (Test-Path $Config) -and -not $env:AICLONE_CONFIG) {
  Step "Creating config\config.yaml from config\config.default.yaml"
  Copy-Item (Join-Path $Root "config\config.default.yaml") $Config
}

# scripts\install_clone.ps1 sets AICLONE_SKIP_MODEL_FETCH: the clone brings its own base model.
if (-not $env:AICLONE_SKIP_MODEL_FETCH) {
  & $Py -m aiclone_agent fetch-model | Out-Null
  if ($LASTEXITCODE -ne 0) { throw "no model: see the message above" }
}
