#!/usr/bin/env bash
# test_pipeline_opts.sh -- the Nextflow modules and Snakemake wrappers under pipelines/ call hyenadna
# with options that exist: every --long option written after `hyenadna CMD` in a module's script block
# or a wrapper's shell() appears in `hyenadna CMD --help`; every subcommand has a Nextflow module; each
# module reads the version the documented way.  (Nextflow itself is not packaged in Debian.)
. "$(dirname "$0")/../lib.sh"

cmds=$("$H" --help | awk '/^ -- Help/{exit} /^    [a-z]/{print $1}')
for c in $cmds; do
  d="$S/pipelines/nextflow/modules/hyenadna/$(echo "$c" | tr -d -)"
  for f in main.nf meta.yml environment.yml; do [ -s "$d/$f" ] && ok || bad "no $f for $c in $d"; done
done

# check FILE CMD: every --option FILE passes to hyenadna (Nextflow: the script block, its `def` lines
# included, but the version line; wrappers: every line but comments) is an option of hyenadna CMD
check() {
  local f=$1 c=$2 help opts
  help=$("$H" "$c" --help | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
  case $f in
    *.nf) opts=$(awk '/^    script:/{on=1} /^    stub:/{on=0} on && !/--version/' "$f") ;;
    *)    opts=$(grep -v '^ *#' "$f") ;;
  esac
  opts=$(echo "$opts" | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
  [ -n "$opts" ] && ok || bad "$f: no options found"
  for o in $opts; do echo "$help" | grep -qx -- "$o" && ok || bad "$f: $o is not an option of hyenadna $c"; done
}
for f in "$S"/pipelines/nextflow/modules/hyenadna/*/main.nf; do
  c=$(grep -oE 'hyenadna [a-z-]+ \\' "$f" | head -1 | awk '{print $2}')
  [ -n "$c" ] && ok || { bad "$f: no hyenadna command"; continue; }
  check "$f" "$c"
  grep -q "hyenadna --version | sed '1!d; s/^.\*hyenadna //'" "$f" && ok || bad "$f: version not read from line 1 of hyenadna --version"
  grep -q '^    stub:' "$f" && ok || bad "$f: no stub block"
  grep -q 'task.ext.args' "$f" && grep -q 'task.ext.prefix' "$f" && ok || bad "$f: no ext.args/ext.prefix"
done
for f in "$S"/pipelines/snakemake/wrappers/hyenadna/*/wrapper.py; do
  c=$(basename "$(dirname "$f")")
  check "$f" "$c"
done
# the version line the modules parse is X.Y.Z
v=$("$H" --version | sed '1!d; s/^.*hyenadna //')
echo "$v" | grep -Eqx '[0-9]+\.[0-9]+\.[0-9]+' && ok || bad "hyenadna --version | sed ... gives '$v'"

finish
