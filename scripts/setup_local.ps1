# Windows twin of scripts/setup_local.sh (and, with -Gateway, of setup_gateway.sh): the native route.
# .venv, Python deps, Rust core, web UI, config, default model. The steps, their order, the
# requirement files and llama.cpp's build flags come from scripts/setup_steps.json, shared with
# setup_local.sh (tests/scripts/test_setup_steps.py fails when the two disagree).
# Usage: scripts\setup_local.ps1 [-Dev] [-Gateway] [-LlamaBuild]
#   -LlamaBuild  prints the llama.cpp build this machine gets (flags, cache key) and exits
param([switch]$Dev, [switch]$Gateway, [switch]$LlamaBuild)
$ErrorActionPreference = "Stop"

$Root = Split-Path -Parent $PSScriptRoot
$Steps = Get-Content -Raw (Join-Path $PSScriptRoot "setup_steps.json") | ConvertFrom-Json
if (-not $env:AICLONE_CACHE) { $env:AICLONE_CACHE = Join-Path $env:LOCALAPPDATA "aiclone" }
$Venv = Join-Path $Root ".venv"
$Py = Join-Path $Venv "Scripts\python.exe"
$env:PIP_DISABLE_PIP_VERSION_CHECK = "1"

function Step($msg) { Write-Host "==> $msg" }
function HashText($text) {
  $sha = [System.Security.Cryptography.SHA256]::Create()
  ($sha.ComputeHash([Text.Encoding]::UTF8.GetBytes($text)) | ForEach-Object { $_.ToString("x2") }) -join ""
}

# A Python 3.10+ to create the venv with: AICLONE_PYTHON, else the py launcher, else python on the PATH.
function Find-BasePython {
  $ErrorActionPreference = "Continue"  # a failing candidate writes to stderr; that must not stop the script
  $candidates = @()
  if ($env:AICLONE_PYTHON) { $candidates += , @($env:AICLONE_PYTHON) }
  if (Get-Command py -ErrorAction SilentlyContinue) { $candidates += , @("py", "-3") }
  if (Get-Command python -ErrorAction SilentlyContinue) { $candidates += , @("python") }
  $min = $Steps.python.min
  foreach ($c in $candidates) {
    $exe = $c[0]; $pre = @($c | Select-Object -Skip 1)
    & $exe @pre -c "import sys; sys.exit(sys.version_info < tuple(int(p) for p in '$min'.split('.')))" 2>$null
    if ($LASTEXITCODE -eq 0) { return , $c }
  }
  return $null
}
$BasePy = Find-BasePython
function Invoke-BasePython { $exe = $BasePy[0]; $pre = @($BasePy | Select-Object -Skip 1); & $exe @pre @args }
function Invoke-JsonPython { if (Test-Path $Py) { & $Py @args } else { Invoke-BasePython @args } }

$AgentReqs = @($Steps.requirements.agent | ForEach-Object { Join-Path $Root $_ })
$Reqs = @($AgentReqs)
if ($Dev) { $Reqs += @($Steps.requirements.dev | ForEach-Object { Join-Path $Root $_ }) }
$OptionalPkgs = @($Steps.requirements.optional.PSObject.Properties.Name)

# llama-cpp-python: one wheel per (version, CMAKE_ARGS, machine, Python), kept in the cache.
# scripts/llama_build_flags.py picks the flags (CUDA for the detected GPU, else the CPU build);
# CMAKE_ARGS set by the owner wins.
$script:LlamaKey = $null
function Resolve-LlamaBuild {
  if ($script:LlamaKey) { return }
  foreach ($line in (Invoke-JsonPython (Join-Path $PSScriptRoot "llama_build_flags.py"))) {
    $key, $value = $line -split "=", 2
    if ($key -eq "CMAKE_ARGS") { $env:CMAKE_ARGS = $value }
    if ($key -eq "CUDACXX") { $env:CUDACXX = $value }
  }
  if (-not $env:CMAKE_ARGS) { throw "scripts\llama_build_flags.py chose no build flags" }
  $package = $Steps.llama_cpp.package
  $script:LlamaReq = (Select-String -Path $AgentReqs -Pattern "^$package==" | Select-Object -First 1).Line
  if (-not $script:LlamaReq) { throw "no pinned $package in $($Steps.requirements.agent -join ', ')" }
  $pyVer = Invoke-JsonPython -c "import sys; print(sys.version_info[:2])"
  $script:LlamaKey = (HashText "$($script:LlamaReq)|$env:CMAKE_ARGS|$env:PROCESSOR_ARCHITECTURE|$pyVer").Substring(0, 16)
  $script:LlamaWheels = Join-Path $env:AICLONE_CACHE "wheels\llama-$($script:LlamaKey)"
}
function Test-LlamaCached {
  [bool](Get-ChildItem -Path $script:LlamaWheels -Filter "llama_cpp_python-*.whl" -ErrorAction SilentlyContinue)
}

function Test-CppBuildTools {
  if (Get-Command cl.exe -ErrorAction SilentlyContinue) { return $true }
  $vswhere = Join-Path ${env:ProgramFiles(x86)} "Microsoft Visual Studio\Installer\vswhere.exe"
  if (-not (Test-Path $vswhere)) { return $false }
  $found = & $vswhere -latest -products * -requires Microsoft.VisualStudio.Component.VC.Tools.x86.x64 -property installationPath
  return [bool]$found
}

function step_prerequisites {
  # Everything missing is named at once, with the command that installs it, before anything is built.
  $missing = @()
  $hints = $Steps.prerequisites.windows
  $mustCompile = $true  # without Python the cache cannot be looked up: a fresh machine compiles
  if (-not $BasePy -and -not (Test-Path $Py)) { $missing += "Python $($Steps.python.min)+: $($hints.'Python 3.10+')" }
  else { Resolve-LlamaBuild; $mustCompile = -not (Test-LlamaCached) }
  if ($mustCompile) {
    if (-not (Test-CppBuildTools)) { $missing += "C++ build tools (to compile llama.cpp once): $($hints.'C++ build tools')" }
    if (-not (Get-Command cmake -ErrorAction SilentlyContinue)) { $missing += "CMake: $($hints.CMake)" }
  }
  if ($missing.Count -gt 0) {
    Write-Host "setup: missing prerequisites:" -ForegroundColor Red
    $missing | ForEach-Object { Write-Host "  - $_" }
    Write-Host "Or use the WSL2 route, which needs none of these: run.bat (see README, Windows)."
    exit 1
  }
}

function step_venv {
  if (Test-Path $Py) { return }
  Step "Creating the virtual environment (.venv)"
  Invoke-BasePython -m venv $Venv
  & $Py -m pip install -q --upgrade pip wheel
}

function step_llama_wheel {
  Resolve-LlamaBuild
  if (Test-LlamaCached) { return }
  Step "Compiling $($script:LlamaReq) (once per machine; CMAKE_ARGS=$env:CMAKE_ARGS)"
  # Built into a .tmp folder and renamed when complete: an interrupted build is never taken for a wheel.
  $tmp = "$($script:LlamaWheels).tmp"
  Remove-Item -Recurse -Force $tmp -ErrorAction SilentlyContinue
  & $Py -m pip wheel --no-deps --no-cache-dir -w $tmp $script:LlamaReq
  if ($LASTEXITCODE -ne 0) { throw "building llama-cpp-python failed (see above)" }
  Remove-Item -Recurse -Force $script:LlamaWheels -ErrorAction SilentlyContinue
  Move-Item $tmp $script:LlamaWheels
}

function step_python_packages {
  Resolve-LlamaBuild
  $stamp = Join-Path $Venv (".deps-" + (HashText ((($Reqs | ForEach-Object { Get-Content -Raw $_ }) -join "") + $script:LlamaKey)).Substring(0, 16))
  if (Test-Path $stamp) { return }
  Step "Installing Python packages"
  # Optional packages go in on their own afterwards: one without a wheel for Windows
  # only switches its feature off instead of failing the whole install.
  $pattern = "^(" + ($OptionalPkgs -join "|") + ")=="
  $filtered = Join-Path $Venv ".requirements-without-optional.txt"
  Get-Content $Reqs | Where-Object { $_ -notmatch $pattern } | Set-Content $filtered
  & $Py -m pip install --find-links $script:LlamaWheels -r $filtered
  if ($LASTEXITCODE -ne 0) { throw "pip install failed" }
  & $Py -m pip install -q --no-deps --force-reinstall (Get-ChildItem $script:LlamaWheels -Filter "llama_cpp_python-*.whl").FullName
  if ($LASTEXITCODE -ne 0) { throw "installing llama-cpp-python failed" }
  foreach ($package in $OptionalPkgs) {
    $pin = (Select-String -Path $Reqs -Pattern "^$package==" | Select-Object -First 1).Line
    if (-not $pin) { continue }
    $pin = ($pin -split "\s")[0]
    & $Py -m pip install -q $pin
    if ($LASTEXITCODE -ne 0) { Write-Warning "$pin did not install: $($Steps.requirements.optional.$package)" }
  }
  Get-ChildItem -Path $Venv -Filter ".deps-*" -Force | Remove-Item
  New-Item -ItemType File -Path $stamp | Out-Null
}

function step_source_paths {
  $site = & $Py -c "import sysconfig; print(sysconfig.get_paths()['purelib'])"
  Set-Content -Path (Join-Path $site "aiclone.pth") -Value @((Join-Path $Root "local-inference"), (Join-Path $Root "backend"), (Join-Path $Root "wire"))
}

function step_rust_core {
  $rustCore = Join-Path $PSScriptRoot "build_rust_core.ps1"
  if (Test-Path $rustCore) { & $rustCore -Py $Py }
}

function step_web_ui {
  # Rebuilt whenever its sources change (build_frontend.ps1 keeps a hash stamp in frontend\dist).
  $built = $false
  try { & (Join-Path $PSScriptRoot "build_frontend.ps1"); $built = ($LASTEXITCODE -eq 0) } catch { Write-Warning "$_" }
  if (-not $built) {
    if ($Dev) { throw "the web UI did not build (see above)" }
    Write-Warning "the web UI is not built (Node.js 20+ needed); the agent serves its basic page"
  }
}

function step_config {
  $config = Join-Path $Root "config\config.yaml"
  if (-not (Test-Path $config) -and -not $env:AICLONE_CONFIG) {
    Step "Creating config\config.yaml from config\config.default.yaml"
    Copy-Item (Join-Path $Root "config\config.default.yaml") $config
  }
}

function step_model {
  # scripts\install_clone.ps1 sets AICLONE_SKIP_MODEL_FETCH: the clone brings its own base model.
  if ($env:AICLONE_SKIP_MODEL_FETCH) { return }
  & $Py -m aiclone_agent fetch-model | Out-Null
  if ($LASTEXITCODE -ne 0) { throw "no model: see the message above" }
}

if ($Gateway) {
  if (-not $BasePy -and -not (Test-Path $Py)) { throw "Python $($Steps.python.min)+ is required: $($Steps.prerequisites.windows.'Python 3.10+')" }
  step_venv
  $stamp = Join-Path $Venv (".gateway-deps-" + (HashText (Get-Content -Raw (Join-Path $Root "requirements.txt"))).Substring(0, 16))
  if (-not (Test-Path $stamp)) {
    Step "Installing the gateway's Python packages"
    & $Py -m pip install -q -r (Join-Path $Root "requirements.txt")
    if ($LASTEXITCODE -ne 0) { throw "pip install failed" }
    New-Item -ItemType File -Path $stamp | Out-Null
  }
  $site = & $Py -c "import sysconfig; print(sysconfig.get_paths()['purelib'])"
  Set-Content -Path (Join-Path $site "aiclone-gateway.pth") -Value @((Join-Path $Root "backend"), (Join-Path $Root "wire"))
  try { & (Join-Path $PSScriptRoot "build_frontend.ps1") } catch { Write-Warning "$_" }
  if ($LASTEXITCODE -ne 0) { Write-Warning "the chat page is not built (Node.js 20+ needed); the gateway serves its API only" }
  exit 0
}

if ($LlamaBuild) {
  Resolve-LlamaBuild
  Write-Host "CMAKE_ARGS=$env:CMAKE_ARGS"
  Write-Host "key=$($script:LlamaKey)"
  Write-Host "wheels=$($script:LlamaWheels) ($(if (Test-LlamaCached) { 'cached' } else { 'to compile' }))"
  exit 0
}

foreach ($id in @($Steps.steps | ForEach-Object { $_.id })) {
  & "step_$id"
}
