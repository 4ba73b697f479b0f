#!/usr/bin/env bash
# Checks that Linux .node binaries load on old distributions: the highest GLIBC_x.y symbol version each
# one requires must not exceed the floor (default 2.28: RHEL 8, Debian 10, Ubuntu 18.10; our builds aim at
# 2.17), and each file must be an ELF for the architecture its name claims (linux-x64 → x86-64,
# linux-arm64 → AArch64). readelf reads any architecture's ELF, so cross-built binaries are checked too.
#
#   scripts/check-glibc.sh [--max 2.28] file.node...
set -euo pipefail

max="2.28"
if [ "${1:-}" = "--max" ]; then max="$2"; shift 2; fi
[ $# -gt 0 ] || { echo "usage: $0 [--max X.Y] file.node..." >&2; exit 2; }
command -v readelf >/dev/null || { echo "readelf not found (binutils)" >&2; exit 2; }

# "2.28" → 2028 so versions compare as integers (minor versions stay below 100).
as_number() { local major="${1%%.*}" minor="${1#*.}"; minor="${minor%%.*}"; echo $((major * 1000 + minor)); }

status=0
for file in "$@"; do
  machine="$(readelf -h "$file" | sed -n 's/^ *Machine: *//p')"
  case "$file" in
    *linux-x64*) want="X86-64" ;;
    *linux-arm64*) want="AArch64" ;;
    *) want="" ;;
  esac
  if [ -n "$want" ] && [[ "$machine" != *"$want"* ]]; then
    echo "FAIL $file: machine is '$machine', expected $want" >&2
    status=1
    continue
  fi
  # Version needs (.gnu.version_r) list every GLIBC_x.y the loader must provide.
  highest="$(readelf -W --version-info "$file" | grep -o 'Name: GLIBC_[0-9.]*' | sed 's/Name: GLIBC_//' | sort -V | tail -1)"
  if [ -z "$highest" ]; then
    echo "FAIL $file: no GLIBC symbol versions found (not a glibc-linked shared object?)" >&2
    status=1
    continue
  fi
  if [ "$(as_number "$highest")" -gt "$(as_number "$max")" ]; then
    echo "FAIL $file: needs GLIBC_$highest, above the floor $max; symbols needing it:" >&2
    readelf -W --dyn-syms "$file" | grep "@GLIBC_$highest" | awk '{print "  " $8}' | sort -u | head -20 >&2
    status=1
  else
    echo "ok   $file: $machine, highest GLIBC_$highest (floor $max), $(du -h "$file" | cut -f1)"
  fi
done
exit $status
