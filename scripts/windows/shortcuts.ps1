# "Start AI Clone" / "Stop AI Clone" shortcuts on the desktop and in the Start menu, and optionally
# a start at logon (a Task Scheduler task for the current user, no administrator rights needed).
# Usage (run.bat shortcuts [logon|remove] calls it): shortcuts.ps1 [-AtLogon] [-Remove]
param([switch]$AtLogon, [switch]$Remove)
$ErrorActionPreference = "Stop"
$Root = (Resolve-Path (Join-Path $PSScriptRoot "..\..")).Path
$RunBat = Join-Path $Root "run.bat"
$TaskName = "AI Clone"
$Folders = @([Environment]::GetFolderPath("Desktop"), [Environment]::GetFolderPath("Programs"))
$Shortcuts = @(
  @{ Name = "Start AI Clone"; Args = "agent"; Style = 7 },  # 7: minimized; the admin opens in the browser
  @{ Name = "Stop AI Clone"; Args = "stop"; Style = 7 }
)

if ($Remove) {
  foreach ($folder in $Folders) {
    foreach ($s in $Shortcuts) { Remove-Item -ErrorAction SilentlyContinue (Join-Path $folder "$($s.Name).lnk") }
  }
  Unregister-ScheduledTask -TaskName $TaskName -Confirm:$false -ErrorAction SilentlyContinue
  Write-Host "AI Clone: shortcuts and the logon task removed"
  exit 0
}

$shell = New-Object -ComObject WScript.Shell
foreach ($folder in $Folders) {
  foreach ($s in $Shortcuts) {
    $link = $shell.CreateShortcut((Join-Path $folder "$($s.Name).lnk"))
    $link.TargetPath = $env:ComSpec
    $link.Arguments = "/c `"`"$RunBat`" $($s.Args)`""
    $link.WorkingDirectory = $Root
    $link.WindowStyle = $s.Style
    $link.Description = "$($s.Name) ($Root)"
    $link.Save()
  }
}
Write-Host "AI Clone: 'Start AI Clone' and 'Stop AI Clone' are on the desktop and in the Start menu"

if ($AtLogon) {
  $action = New-ScheduledTaskAction -Execute $env:ComSpec -Argument "/c `"`"$RunBat`" agent`"" -WorkingDirectory $Root
  $trigger = New-ScheduledTaskTrigger -AtLogOn -User "$env:USERDOMAIN\$env:USERNAME"
  $settings = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -ExecutionTimeLimit ([TimeSpan]::Zero)
  Register-ScheduledTask -TaskName $TaskName -Action $action -Trigger $trigger -Settings $settings `
    -Description "Starts the AI Clone agent at logon ($Root)" -Force | Out-Null
  Write-Host "AI Clone: starts at logon (Task Scheduler task '$TaskName'; run.bat shortcuts remove undoes it)"
}
