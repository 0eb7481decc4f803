# lib.sh -- the preamble every shell suite sources (tests/cli, tests/bad-inputs, tests/pipelines):
#
#   . "$(dirname "$0")/../lib.sh"
#
# It sets the environment `make check` passes (H = the hyenadna binary, T = tests/data, S = the source
# tree), a temporary directory $tmp removed on exit, the pass/fail counters and the checks the suites
# share; a suite ends with `finish`.  A suite that needs a tool the build itself does not (bcftools,
# groff, snakemake...) says so with `need TOOL...`: when one is missing the suite exits 77, which automake
# reports as SKIP, never as a pass.
set -u
H=${HYENADNA:?HYENADNA not set (make check sets it)}
T=${TESTDATA:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/data}
S=${SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
pass=0; fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

ok()  { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*"; }

# need TOOL...: skip the whole suite (exit 77) when a tool is not installed
need() {
  local t pkg
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 && continue
    case $t in bgzip|tabix) pkg=tabix ;; groff) pkg=groff-base ;; rsvg-convert) pkg=librsvg2-bin ;; *) pkg=$t ;; esac
    echo "SKIP: $(basename "$0") needs $t (apt-get install $pkg)"
    exit 77
  done
}

# expect STATUS DESCRIPTION -- command...  (stdin /dev/null, stdout to $tmp/out, stderr to $tmp/err)
expect() {
  local want=$1 what=$2; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err" </dev/null; local got=$?
  if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, expected $want"; sed 's/^/    /' "$tmp/err" "$tmp/out" | head -8; fi
}
# has FILE PATTERN DESCRIPTION: FILE has a line matching PATTERN (grep)
has()   { if grep -q -- "$2" "$1"; then ok; else bad "$3: '$2' not in $(basename "$1")"; head -5 "$1" | sed 's/^/    /'; fi; }
# empty FILE DESCRIPTION
empty() { if [ ! -s "$1" ]; then ok; else bad "$2: $(basename "$1") not empty"; head -3 "$1" | sed 's/^/    /'; fi; }

# finish [PREFIX]: print the counts; the suite's exit status
finish() {
  echo "${1:+$1 }$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
