#!/usr/bin/env bash
# test_man.sh -- every man page renders without warnings, and every option of a subcommand's --help
# appears in its man page and the other way round.
. "$(dirname "$0")/../lib.sh"
need groff

for page in "$S"/man/*.1; do
  w=$(groff -man -ww -z "$page" 2>&1)
  if [ -z "$w" ]; then ok; else bad "$(basename "$page") renders with warnings: $w"; fi
done

# an alternating-font macro (.BR, .IR...) glues its arguments together: two plain words in a row among them
# are prose run into one word ('.BR \-f ): an unknown sequence' rendered "-f):anunknownsequence,")
glued=$(awk '/^\.(BR|RB|IR|RI|BI|IB) / && !/"/ { for (i = 2; i < NF; i++) if ($i ~ /^[A-Za-z][A-Za-z]+[,.;]?$/ && $(i + 1) ~ /^[A-Za-z][A-Za-z]+[,.;]?$/) { print FILENAME ":" FNR ": " $0; break } }' "$S"/man/*.1)
if [ -z "$glued" ]; then ok; else bad "words glued by an alternating-font macro: $glued"; fi

# long options in --help / in the man page source (roff escapes \- to -)
help_opts() { "$H" "$1" --help 2>/dev/null | grep -oE '(^|[ ,])--[a-z][a-z0-9-]*' | sed 's/^[ ,]*//' | sort -u; }
man_opts()  { sed 's/\\-/-/g' "$1" | grep -oE '(^|[^a-z0-9-])--[a-z][a-z0-9-]*' | sed 's/^[^-]*//' | sort -u; }

cmds=$("$H" --help | awk '/^ -- Help/{exit} /^    [a-z]/{print $1}')
[ -n "$cmds" ] && ok || bad "no commands listed by hyenadna --help"
for c in $cmds; do
  page="$S/man/hyenadna-$c.1"
  if [ ! -f "$page" ]; then bad "no man page for $c"; continue; fi
  ok
  h=$(help_opts "$c"); m=$(man_opts "$page")
  for o in $h; do echo "$m" | grep -qx -- "$o" && ok || bad "$c: $o in --help but not in $(basename "$page")"; done
  for o in $m; do echo "$h" | grep -qx -- "$o" && ok || bad "$c: $o in $(basename "$page") but not in --help"; done
  grep -q "hyenadna-$c" "$S/man/hyenadna.1" && ok || bad "hyenadna.1 does not mention hyenadna-$c"
  for sec in NAME SYNOPSIS DESCRIPTION OPTIONS OUTPUT EXAMPLES "EXIT STATUS" "SEE ALSO"; do
    grep -q "^\.SH \"\?$sec\"\?" "$page" && ok || bad "$(basename "$page") lacks the $sec section"
  done
done
finish
