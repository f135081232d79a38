#!/usr/bin/env bash
# The TorchSharp peer: FastRnn and TorchSharp (libtorch 2.10, CPU) on the char-LM training iteration at 1 and 2 threads,
# alternating rounds in one process (perf/TorchSharpPeer). Usage: bash perf/torchsharp.sh [rounds]
#
# libtorch 2.10 needs GLIBCXX_3.4.32 (GCC 13's libstdc++) and that libstdc++ needs glibc 2.38; Debian 12 has 3.4.30 and
# 2.36. So this script takes libc6, libstdc++6 and libgcc-s1 from Debian 13's archive (apt, into perf/.torchsharp, once),
# and runs the peer under that glibc's loader: a copy of the dotnet host with its interpreter set to Debian 13's
# ld-linux (patchelf), beside links to this SDK's runtimes, with LD_LIBRARY_PATH on Debian 13's libraries. Nothing on
# the system changes; FastRnn and TorchSharp both run under the same glibc in that process.
set -euo pipefail
cd "$(dirname "$0")/.."
root=perf/.torchsharp
libs=$root/root/usr/lib/x86_64-linux-gnu
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

if [ ! -e "$libs/libstdc++.so.6" ]; then
  command -v patchelf >/dev/null 2>&1 || { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq patchelf >/dev/null; }
  mkdir -p "$root/lists/partial" "$root/debs"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" > "$root/trixie.list"
  apt_options=(-o Dir::Etc::sourcelist="$PWD/$root/trixie.list" -o Dir::Etc::sourceparts=- -o Dir::State::Lists="$PWD/$root/lists")
  apt-get "${apt_options[@]}" update -qq
  (cd "$root/debs" && apt-get "${apt_options[@]}" download libc6 libstdc++6 libgcc-s1 2>/dev/null)
  for deb in "$root"/debs/*.deb; do dpkg -x "$deb" "$root/root"; done
fi

dotnet_home=$(dirname "$(readlink -f "$(command -v dotnet)")")
host=$root/dotnet
if [ ! -x "$host/dotnet" ]; then
  mkdir -p "$host"
  cp "$dotnet_home/dotnet" "$host/dotnet"
  patchelf --set-interpreter "$PWD/$libs/ld-linux-x86-64.so.2" "$host/dotnet"
  ln -sfn "$dotnet_home/host" "$host/host"
  ln -sfn "$dotnet_home/shared" "$host/shared"
fi

dotnet build perf/TorchSharpPeer -c Release -v quiet -nologo
# env sets the variables and then runs the patched host, so only that process sees Debian 13's libraries
run() { env "$@" LD_LIBRARY_PATH="$PWD/$libs" DOTNET_ROOT="$PWD/$host" "$host/dotnet" perf/TorchSharpPeer/bin/Release/net10.0/TorchSharpPeer.dll "${args[@]}"; }
args=("$@")
echo "== libtorch as shipped (its MKL takes its generic code path on this AMD processor)"
run
# MKL picks its AVX-512 kernels only on processors it recognizes as Intel's; a library that answers its check with
# "yes", preloaded, makes it use them here (a 2048 x 256 x 96 matmul 1.35-2.0 -> 0.58 ms). Measured both ways, as
# PyTorch is with OpenBLAS's AVX2 and AVX-512 kernels.
if command -v gcc >/dev/null 2>&1; then
  echo 'int mkl_serv_intel_cpu_true(void) { return 1; }' > "$root/mkl_intel_cpu_true.c"
  gcc -shared -fPIC -O2 -o "$root/mkl_intel_cpu_true.so" "$root/mkl_intel_cpu_true.c"
  echo "== libtorch with MKL's processor check answered yes (LD_PRELOAD)"
  run LD_PRELOAD="$PWD/$root/mkl_intel_cpu_true.so"
fi
