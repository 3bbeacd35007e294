#!/usr/bin/env bash
# Installs the Bicep CLI (the NuGet package Azure.Bicep.CommandLine.<rid>, restored with the .NET SDK) into
# .tools/bicep/bicep and prints that path on stdout; everything else goes to stderr.
# Idempotent: a binary of the wanted version already in place is kept and its path printed at once.
#   BICEP_PATH="$(bash scripts/install-bicep.sh)"   # what .ci/run does before `npm test`
#   BICEP_VERSION=0.48.1 bash scripts/install-bicep.sh
# .tools/ holds a .gitignore of its own (`*`), so nothing installed there is ever committed.
set -euo pipefail

version="${BICEP_VERSION:-0.49.2}"
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/.tools"
dest="$tools/bicep"
bin="$dest/bicep"

if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "version $version "; then
  echo "$bin"
  exit 0
fi

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) rid=linux-x64 ;;
  Linux-aarch64 | Linux-arm64) rid=linux-arm64 ;;
  Darwin-x86_64) rid=osx-x64 ;;
  Darwin-arm64) rid=osx-arm64 ;;
  *)
    echo "install-bicep: no Bicep CLI package for $(uname -s)-$(uname -m)" >&2
    exit 1
    ;;
esac

if ! command -v dotnet >/dev/null 2>&1; then
  echo "install-bicep: the .NET SDK (dotnet) is needed to restore Azure.Bicep.CommandLine.$rid from NuGet" >&2
  exit 1
fi
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Any target framework the installed SDK knows will do: PackageDownload only fetches the package.
tfm="net$(dotnet --version | cut -d. -f1).0"
cat >"$work/bicep-download.csproj" <<CSPROJ
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>$tfm</TargetFramework>
  </PropertyGroup>
  <ItemGroup>
    <PackageDownload Include="Azure.Bicep.CommandLine.$rid" Version="[$version]" />
  </ItemGroup>
</Project>
CSPROJ

echo "install-bicep: restoring Azure.Bicep.CommandLine.$rid $version" >&2
dotnet restore "$work/bicep-download.csproj" --packages "$work/packages" >&2

package="$work/packages/azure.bicep.commandline.$rid/$version"
found="$(find "$package" -type f -name bicep -path '*/tools/*' | head -n 1)"
if [ -z "$found" ]; then
  echo "install-bicep: no tools/bicep in $package" >&2
  exit 1
fi

mkdir -p "$dest"
[ -f "$tools/.gitignore" ] || printf '# Installed tools (scripts/install-bicep.sh); never committed.\n*\n' >"$tools/.gitignore"
cp "$found" "$bin.tmp"
chmod 0755 "$bin.tmp"
mv -f "$bin.tmp" "$bin"
"$bin" --version >&2
echo "$bin"
