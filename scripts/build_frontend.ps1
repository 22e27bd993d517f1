# Windows twin of scripts/build_frontend.sh: builds the web UI (frontend/) into frontend\dist,
# idempotently: npm ci only when package-lock.json changed, vite build only when the sources
# (web_ui.inputs in scripts/setup_steps.json) changed, so an update that touches the UI rebuilds it.
# Usage: scripts\build_frontend.ps1 [-Force]   (exit code 1 when Node.js 20+ is missing)
param([switch]$Force)
$ErrorActionPreference = "Stop"

$Root = Split-Path -Parent $PSScriptRoot
$Frontend = Join-Path $Root "frontend"
$Steps = Get-Content -Raw (Join-Path $PSScriptRoot "setup_steps.json") | ConvertFrom-Json

if (-not (Get-Command node -ErrorAction SilentlyContinue) -or -not (Get-Command npm -ErrorAction SilentlyContinue)) {
  Write-Warning "Node.js 20+ is required to build the web UI (winget install -e --id OpenJS.NodeJS.LTS)"
  exit 1
}
$major = [int]((& node --version).TrimStart("v").Split(".")[0])
if ($major -lt 20) { Write-Warning "Node.js 20+ is required (found $(& node --version))"; exit 1 }

function HashOf([string[]]$parts) {
  $sha = [System.Security.Cryptography.SHA256]::Create()
  ($sha.ComputeHash([Text.Encoding]::UTF8.GetBytes(($parts -join "`n"))) | ForEach-Object { $_.ToString("x2") }) -join ""
}

Push-Location $Frontend
try {
  $lockHash = (Get-FileHash -Algorithm SHA256 "package-lock.json").Hash.Substring(0, 16).ToLower()
  $depsStamp = "node_modules\.aiclone-deps-$lockHash"
  if ($Force -or -not (Test-Path $depsStamp)) {
    Write-Host "==> Installing the web UI's packages (npm ci)"
    & npm ci --no-audit --no-fund --prefer-offline
    if ($LASTEXITCODE -ne 0) { throw "npm ci failed" }
    Get-ChildItem "node_modules" -Filter ".aiclone-deps-*" -Force | Remove-Item
    New-Item -ItemType File -Path $depsStamp | Out-Null
  }

  # Everything the build reads; file names (relative, with /) and contents both count.
  $files = foreach ($pattern in $Steps.web_ui.inputs) {
    foreach ($item in (Get-Item -Path $pattern -ErrorAction SilentlyContinue)) {
      if ($item.PSIsContainer) { Get-ChildItem $item.FullName -Recurse -File } else { $item }
    }
  }
  $entries = $files | Where-Object { $_.Name -notlike $Steps.web_ui.exclude } |
    ForEach-Object { "$((Get-FileHash -Algorithm SHA256 $_.FullName).Hash)  $((Resolve-Path -Relative $_.FullName).TrimStart('.', '\').Replace('\', '/'))" } |
    Sort-Object -CaseSensitive
  $sourceHash = (HashOf $entries).Substring(0, 16)
  $buildStamp = "dist\.aiclone-build-$sourceHash"
  if ($Force -or -not (Test-Path $buildStamp) -or -not (Test-Path "dist\chat\index.html") -or -not (Test-Path "dist\admin\index.html")) {
    Write-Host "==> Building the web UI (vite build: frontend\dist\chat, frontend\dist\admin)"
    & npm run --silent build
    if ($LASTEXITCODE -ne 0) { throw "vite build failed" }
    Get-ChildItem "dist" -Filter ".aiclone-build-*" -Force -ErrorAction SilentlyContinue | Remove-Item
    New-Item -ItemType File -Path $buildStamp | Out-Null
  }
} finally { Pop-Location }
exit 0
