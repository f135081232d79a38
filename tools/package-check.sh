#!/usr/bin/env bash
# Packs FastRnn (runtime + generator as an analyzer) and FastRnn.Data, checks what the packages hold and say about
# themselves, then builds and runs a model in a separate project that references only the FastRnn package, from a
# local folder: what a user's project (a service that wants the engine and nothing else) sees.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
version=0.1.0-check
repository=https://github.com/fastrnn/fastrnn
failures=0
fail() { echo "package check: $*" >&2; failures=$((failures + 1)); }

# Pack. Warnings are errors in this repository, pack's too (e.g. SourceLink's, which would appear in a clone whose
# remote no provider knows, such as CI's clone of a local path).
for project in FastRnn FastRnn.Data; do
  dotnet pack "$root/src/$project/$project.csproj" -c Release -o "$work/feed" -p:Version=$version 2>&1 | tee "$work/pack-$project.log"
  if grep -qiE "(^|[^a-z])warning( |:)" "$work/pack-$project.log"; then
    fail "dotnet pack $project printed warnings"
  fi
done

# Contents and metadata of one package: $1 = id, then the files it must hold.
check_package() {
  local id=$1; shift
  local nupkg="$work/feed/$id.$version.nupkg" snupkg="$work/feed/$id.$version.snupkg"
  [ -f "$nupkg" ] || { fail "$nupkg was not written"; return; }
  [ -f "$snupkg" ] || fail "$id has no symbols package ($id.$version.snupkg)"
  unzip -l "$nupkg" | awk 'NR > 3 && $4 != "" && $4 != "----" {print $4}' > "$work/$id.files"
  for file in "$@" README.md LICENSE; do
    grep -qxF "$file" "$work/$id.files" || fail "$id lacks $file"
  done
  if [ -f "$snupkg" ]; then
    unzip -l "$snupkg" | grep -qE "lib/net10.0/$id\.pdb$" || fail "$id's symbols package lacks lib/net10.0/$id.pdb"
  fi
  unzip -p "$nupkg" "$id.nuspec" > "$work/$id.nuspec"
  local nuspec="$work/$id.nuspec"
  grep -qE '<license type="expression">MIT</license>' "$nuspec" || fail "$id's nuspec has no MIT license expression"
  grep -qF "<readme>README.md</readme>" "$nuspec" || fail "$id's nuspec names no readme"
  grep -qE "<repository type=\"git\" url=\"$repository\"" "$nuspec" || fail "$id's nuspec has no repository url $repository"
  grep -qE "<repository [^>]*commit=\"[0-9a-f]{40}\"" "$nuspec" || fail "$id's nuspec has no repository commit"
  grep -qF "<projectUrl>$repository</projectUrl>" "$nuspec" || fail "$id's nuspec has no project url"
  grep -qE "<tags>[^<]+</tags>" "$nuspec" || fail "$id's nuspec has no tags"
  grep -qE "<releaseNotes>[^<]+</releaseNotes>" "$nuspec" || fail "$id's nuspec has no release notes"
  grep -qE "<description>[^<]+</description>" "$nuspec" || fail "$id's nuspec has no description"
  grep -qE "<copyright>[^<]*FastRnn contributors</copyright>" "$nuspec" || fail "$id's nuspec has no copyright"
  if grep -q "FastRnn.Generators" "$nuspec"; then fail "$id depends on the generator project as a package"; fi
}
check_package FastRnn lib/net10.0/FastRnn.dll lib/net10.0/FastRnn.xml analyzers/dotnet/cs/FastRnn.Generators.dll
check_package FastRnn.Data lib/net10.0/FastRnn.Data.dll lib/net10.0/FastRnn.Data.xml
# The engine's package carries the engine only: no data readers, no dependency on FastRnn.Data.
if grep -qE "lib/.*FastRnn\.Data" "$work/FastRnn.files"; then fail "the FastRnn package holds FastRnn.Data"; fi
if grep -q 'id="FastRnn.Data"' "$work/FastRnn.nuspec"; then fail "the FastRnn package depends on FastRnn.Data"; fi
if [ "$failures" -ne 0 ]; then
  echo "package check: $failures problem(s) in the packages" >&2
  exit 1
fi
echo "package check: FastRnn and FastRnn.Data hold their files and metadata"

mkdir -p "$work/consumer"
cat > "$work/consumer/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="local" value="$work/feed" />
  </packageSources>
</configuration>
XML
cat > "$work/consumer/Consumer.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
    <RestorePackagesPath>$work/packages</RestorePackagesPath>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="FastRnn" Version="$version" />
  </ItemGroup>
</Project>
XML
cat > "$work/consumer/Program.cs" <<'CS'
using System;
using System.ComponentModel;
using System.Linq;
using System.Reflection;
using FastRnn;

var model = new Consumer.Tagger(batchCapacity: 2, sequenceCapacity: 3, seed: 5);
var state = model.CreateState();
var output = new float[Consumer.Tagger.OutputSize];
model.Step([0.5f, -0.25f], state, output);
model.Forward(new float[3 * 2 * 2], batch: 2, steps: 3);
float loss = model.Loss(new float[3 * 2 * 3]);
model.Backward();
new Adam(model).Step();
Console.WriteLine($"package check: output[0] = {output[0]:F4}, loss = {loss:F4}");
if (!float.IsFinite(loss)) return 1;

// The engine's assembly: no data readers, and every public type of FastRnn.Kernels (what only generated code calls)
// hidden from IntelliSense.
var engine = typeof(Adam).Assembly;
var types = engine.GetExportedTypes();
var data = types.Where(t => t.Namespace == "FastRnn.Data").Select(t => t.FullName).ToList();
if (data.Count > 0) { Console.WriteLine($"package check: the engine holds data readers: {string.Join(", ", data)}"); return 1; }
var kernels = types.Where(t => t.Namespace == "FastRnn.Kernels" && !t.IsNested).ToList();
var shown = kernels.Where(t => t.GetCustomAttribute<EditorBrowsableAttribute>()?.State != EditorBrowsableState.Never).Select(t => t.FullName).ToList();
if (kernels.Count == 0 || shown.Count > 0) { Console.WriteLine($"package check: FastRnn.Kernels types not hidden: {string.Join(", ", shown)}"); return 1; }
Console.WriteLine($"package check: {types.Length} public types, {kernels.Count} of them hidden in FastRnn.Kernels, no FastRnn.Data");
return 0;

namespace Consumer
{
    [RnnModel, DenseInput(2), Gru(5), Head(3, Activation.Sigmoid), Loss(LossKind.MeanSquaredError)]
    public partial class Tagger;
}
CS
dotnet run --project "$work/consumer/Consumer.csproj" -c Release
