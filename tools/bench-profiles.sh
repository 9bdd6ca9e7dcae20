#!/usr/bin/env bash
# Measures the release-profile choices on the intake: each variant is built into its own target
# dir, then its stripped size and its cold start under RIE (median of 9) are printed.
# Run by `make bench-profiles` (slow: every variant rebuilds the SDK crates).
set -euo pipefail
cd "$(dirname "$0")/.."
base="${CARGO_TARGET_DIR:-$HOME/.cache/chatsync-target}/profiles"
release="${CARGO_TARGET_DIR:-$HOME/.cache/chatsync-target}/release"
variants=(
  'chosen (lto=fat, codegen-units=1, panic=abort, strip, opt-level=3)|'
  'panic=unwind|--config=profile.release.panic="unwind"'
  'opt-level="s"|--config=profile.release.opt-level="s"'
  'cargo default release (no lto, 16 units, unwind, no strip)|--config=profile.release.lto=false --config=profile.release.codegen-units=16 --config=profile.release.panic="unwind" --config=profile.release.strip=false'
)
echo "| profile | webhook-intake size (bytes) | cold start median (ms) |"
echo "|---|---:|---:|"
i=0
for v in "${variants[@]}"; do
  name="${v%%|*}"; flags="${v#*|}"
  dir="$base/v$i"; i=$((i+1))
  # shellcheck disable=SC2086
  CARGO_TARGET_DIR="$dir" cargo build --quiet --release -p webhook-intake $flags
  size=$(stat -c %s "$dir/release/webhook-intake")
  cp "$release/chatsync-local" "$dir/release/" 2>/dev/null || true
  median=$("$release/chatsync-local" coldstart --bin-dir "$dir/release" --runs 9 --function webhook-intake | awk -F'|' '/webhook-intake/ {gsub(/ /,"",$4); print $4}')
  echo "| $name | $size | $median |"
done
