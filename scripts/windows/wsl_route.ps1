# The Windows launcher's first choice: run the Linux agent inside WSL2 (Ubuntu), where CUDA works
# through the Windows NVIDIA driver and TensorRT-LLM can run; Windows reaches the admin at
# http://127.0.0.1:3000 through WSL's localhost forwarding.
# Usage (run.bat calls it): wsl_route.ps1 -Action check|start|stop [-Mode agent|gateway|stack]
# Exit codes: 0 done; 3 the WSL2 route is not available here (the reason and the one command that
# fixes it are printed), so run.bat falls back to the native route; anything else: the agent's own.
param(
  [ValidateSet("check", "start", "stop")][string]$Action = "start",
  [ValidateSet("agent", "gateway", "stack")][string]$Mode = "agent"
)
$ErrorActionPreference = "Stop"
$Root = (Resolve-Path (Join-Path $PSScriptRoot "..\..")).Path
$InstallCommand = "wsl --install -d Ubuntu"
$Unavailable = 3

function Write-Missing([string]$what, [string]$fix) {
  Write-Host "AI Clone: the WSL2 route is not available: $what" -ForegroundColor Yellow
  Write-Host "  To use it (recommended: GPU through CUDA, nothing to compile on Windows), run once in an"
  Write-Host "  administrator terminal:  $fix"
  Write-Host "  then restart Windows if asked, open Ubuntu once to create your Linux user, and start run.bat again."
}

# Lines of wsl.exe's output; WSL_UTF8 makes it write UTF-8 instead of UTF-16.
function Invoke-Wsl([string[]]$WslArgs) {
  $ErrorActionPreference = "Continue"  # Windows PowerShell 5.1 would stop at wsl.exe's first stderr line
  $env:WSL_UTF8 = "1"
  $out = & wsl.exe @WslArgs 2>&1
  $code = $LASTEXITCODE
  $lines = @($out | ForEach-Object { "$_".Replace("`0", "").Trim() } | Where-Object { $_ })
  return @{ Code = $code; Lines = $lines }
}

# The Ubuntu distribution to run in, or $null after explaining what is missing.
function Find-Ubuntu {
  if (-not (Get-Command wsl.exe -ErrorAction SilentlyContinue)) {
    Write-Missing "WSL is not installed (wsl.exe not found)" $InstallCommand
    return $null
  }
  $status = Invoke-Wsl @("--status")
  if ($status.Code -ne 0) {
    Write-Missing "WSL is not set up ($($status.Lines | Select-Object -First 1))" $InstallCommand
    return $null
  }
  $list = Invoke-Wsl @("--list", "--verbose")
  # Rows: "* Ubuntu-24.04    Running    2" (the star marks the default distribution).
  $ubuntu = @($list.Lines | Select-Object -Skip 1 | ForEach-Object {
      $cols = ($_.TrimStart("*").Trim() -split "\s+")
      if ($cols.Count -ge 3 -and $cols[0] -like "Ubuntu*") { [pscustomobject]@{ Name = $cols[0]; Version = $cols[-1] } }
    })
  if ($ubuntu.Count -eq 0) {
    Write-Missing "no Ubuntu distribution in WSL" $InstallCommand
    return $null
  }
  $v2 = @($ubuntu | Where-Object { $_.Version -eq "2" })
  if ($v2.Count -eq 0) {
    Write-Missing "$($ubuntu[0].Name) runs under WSL 1 (CUDA needs WSL 2)" "wsl --set-version $($ubuntu[0].Name) 2"
    return $null
  }
  return $v2[0].Name
}

$distro = Find-Ubuntu
if (-not $distro) { exit $Unavailable }
if ($Action -eq "check") { Write-Host "AI Clone: WSL2 route available ($distro)"; exit 0 }

# The bundle folder as WSL sees it (C:\Users\me\AI Clone -> /mnt/c/Users/me/AI Clone); -e runs
# wslpath without a shell, so the backslashes arrive as they are.
$path = Invoke-Wsl @("-d", $distro, "-e", "wslpath", "-a", $Root)
if ($path.Code -ne 0 -or $path.Lines.Count -eq 0) {
  Write-Missing "wslpath could not translate $Root ($($path.Lines -join ' '))" "wsl -d $distro --update"
  exit $Unavailable
}
$linuxRoot = $path.Lines[-1]

if ($Action -eq "stop") {
  & wsl.exe -d $distro --cd $linuxRoot -e bash ./run.sh stop
  exit $LASTEXITCODE
}
Write-Host "AI Clone: starting in WSL2 ($distro, $linuxRoot); the admin opens at http://127.0.0.1:3000"
& wsl.exe -d $distro --cd $linuxRoot -e bash ./run.sh $Mode
exit $LASTEXITCODE
