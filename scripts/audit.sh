#!/usr/bin/env bash
# Supply chain: `cargo audit` of Cargo.lock against the RustSec advisory database, offline (--no-fetch).
#
# The database: $ADVISORY_DB if set, else ../shared/advisory-db (the team's offline copy of
# github.com/rustsec/advisory-db, see its SOURCE.md). Where neither exists (a CI machine with the repository
# only), the subset committed in audit/advisory-db is used: the advisories of every crate in Cargo.lock plus the
# `rust/` ones, copied from the full database by `scripts/audit.sh --refresh`. When the full database is there,
# the committed subset is also checked to be current (so it cannot silently go stale after a dependency change).
# Ignored advisories, each with its written reason, are in audit/ignore.txt (`ID  reason`).
set -euo pipefail
cd "$(dirname "$0")/.."

SUBSET=audit/advisory-db
FULL=${ADVISORY_DB:-../shared/advisory-db}
VERSION=0.22.2

if [ "$(cargo audit --version 2>/dev/null)" != "cargo-audit-audit $VERSION" ] \
    && [ "$(cargo audit --version 2>/dev/null)" != "cargo-audit $VERSION" ]; then
  echo "audit: cargo install cargo-audit $VERSION (about 7 minutes the first time)"
  cargo install cargo-audit --version "$VERSION" --locked --quiet
fi

# The crates of Cargo.lock, one name per line.
locked_crates() {
  sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.lock | sort -u
}

# Copies the advisories of the locked crates (and the toolchain's) from $1 into $2.
make_subset() {
  local from=$1 to=$2
  rm -rf "$to"
  mkdir -p "$to/crates"
  cp -r "$from/rust" "$to/rust"
  cp "$from/LICENSE.txt" "$to/" 2>/dev/null || true
  while read -r name; do
    if [ -d "$from/crates/$name" ]; then
      cp -r "$from/crates/$name" "$to/crates/$name"
    fi
  done < <(locked_crates)
  {
    echo "# RustSec advisories for the crates in Cargo.lock (subset)"
    echo "Made by scripts/audit.sh --refresh from the full offline copy; its SOURCE.md:"
    echo
    sed 's/^/> /' "$from/SOURCE.md" 2>/dev/null || echo "> (no SOURCE.md)"
  } > "$to/SOURCE.md"
}

if [ "${1:-}" = "--refresh" ]; then
  [ -d "$FULL/crates" ] || { echo "audit: no full advisory database at $FULL (set ADVISORY_DB)" >&2; exit 1; }
  make_subset "$FULL" "$SUBSET"
  echo "audit: $SUBSET refreshed: $(find "$SUBSET/crates" -name '*.md' | wc -l) advisories of $(locked_crates | wc -l) crates"
  exit 0
fi

db=$SUBSET
if [ -d "$FULL/crates" ]; then
  fresh=$(mktemp -d)
  trap 'rm -rf "$fresh"' EXIT
  make_subset "$FULL" "$fresh/db"
  if ! diff -rq "$fresh/db/crates" "$SUBSET/crates" >/dev/null 2>&1; then
    echo "audit: $SUBSET is out of date with Cargo.lock or $FULL: run scripts/audit.sh --refresh and commit it" >&2
    exit 1
  fi
  db=$FULL
fi
echo "audit: cargo audit against $db ($(find "$db/crates" -name '*.md' | wc -l) advisories)"

ignores=()
while read -r id reason; do
  [ -z "$id" ] || [ "${id:0:1}" = "#" ] && continue
  [ -n "$reason" ] || { echo "audit: audit/ignore.txt: $id has no written reason" >&2; exit 1; }
  ignores+=(--ignore "$id")
done < audit/ignore.txt

cargo audit --no-fetch --db "$db" --deny warnings "${ignores[@]}"
