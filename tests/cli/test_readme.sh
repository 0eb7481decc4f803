#!/usr/bin/env bash
# test_readme.sh -- the README's quick-start examples run and print what the README shows (readme_check.py):
# a changed output format or default fails here instead of leaving the README wrong.
. "$(dirname "$0")/../lib.sh"
need python3 tabix
mkdir -p "$tmp/w/_ci_build/default" "$tmp/w/docs/img"
ln -s "$S/data" "$tmp/w/data"
ln -s "$(cd "$(dirname "$H")" && pwd)/$(basename "$H")" "$tmp/w/_ci_build/default/hyenadna"
if env -u HYENADNA_MODEL python3 "$S/tests/cli/readme_check.py" "$S/README.md" "$tmp/w"; then ok; else bad "README examples"; fi
finish
