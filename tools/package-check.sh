#!/usr/bin/env bash
# Packs FastRnn (runtime + generator as an analyzer) and builds and runs a model in a separate project that
# references only that package, from a local folder: what a user's project sees.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dotnet pack "$root/src/FastRnn/FastRnn.csproj" -c Release -o "$work/feed" -p:Version=0.1.0-check
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
    <PackageReference Include="FastRnn" Version="0.1.0-check" />
  </ItemGroup>
</Project>
XML
cat > "$work/consumer/Program.cs" <<'CS'
using System;
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
return 0;

namespace Consumer
{
    [RnnModel, DenseInput(2), Gru(5), Head(3, Activation.Sigmoid), Loss(LossKind.MeanSquaredError)]
    public partial class Tagger;
}
CS
dotnet run --project "$work/consumer/Consumer.csproj" -c Release
