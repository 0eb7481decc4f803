#!/usr/bin/env python3
"""readme_check.py README WORKDIR -- run the README's quick-start examples and compare what they print.

The examples are the fenced blocks that call ./_ci_build/default/hyenadna or $H (blocks with a bare
`hyenadna` need an installed binary or the network and are not run).  In a block, a command is a line that
starts with one of COMMANDS (a trailing backslash continues it); a line starting with "# " is a comment;
every other line is output the previous command prints on stdout.  A block without commands holds the
output of the last command of the block before it when that command shows none.  Output is compared token by token (whitespace runs
are column alignment): numbers within a relative 1e-3 (the last printed digit may differ with the BLAS
kernel of another CPU), "..." stands for any text (inside a token or as tokens of its own).  WORKDIR must
hold `data` (the source tree's data/) and `_ci_build/default/hyenadna` (the binary under test).
Exit status: 0 when every command succeeded and printed what the README shows, 1 otherwise.
"""
import re
import subprocess
import sys

COMMANDS = ("$H ", "H=", "./_ci_build/", "awk ", "head ", "ls ", "tabix ", "bash ")
SHELL = ("$ ", "hyenadna ", "make", "autoreconf", "./configure")   # blocks of commands that are not run here


def blocks(text):
    out, cur = [], None
    for line in text.splitlines():
        if line.startswith("```"):
            if cur is None:
                cur = []
            else:
                out.append(cur)
                cur = None
        elif cur is not None:
            cur.append(line)
    return out


def examples(text):
    """[(command, [expected output lines])] of the blocks that run the build's binary"""
    steps, prev_ran = [], False
    for b in blocks(text):
        runs = any("./_ci_build/default/hyenadna" in l or l.startswith("$H ") for l in b)
        has_cmd = any(l.startswith(COMMANDS + SHELL) for l in b)
        if not runs and not (prev_ran and not has_cmd and steps and not steps[-1][1]):
            prev_ran = False
            continue
        cont = False
        for l in b:
            if cont:
                steps[-1][0] += "\n" + l
                cont = l.endswith("\\")
            elif l.startswith("bash .ci/run"):
                if " && " in l:                  # the setup is what is being tested: run what follows it
                    steps.append([l.split(" && ", 1)[1], []])
            elif l.startswith(COMMANDS):
                steps.append([l, []])
                cont = l.endswith("\\")
            elif l.startswith("# ") or not l.strip():
                continue
            elif steps:
                steps[-1][1].append(l)
        prev_ran = True
    return steps


def num(t):
    try:
        return float(t)
    except ValueError:
        return None


def tok_match(e, a):
    if "..." in e:
        return re.fullmatch(".*".join(re.escape(p) for p in e.split("...")), a) is not None
    x, y = num(e), num(a)
    if x is not None and y is not None:
        return abs(x - y) <= 1e-3 * max(abs(x), abs(y), 1e-30)
    return e == a


def match(exp, act):
    """exp/act: token lists; a token "..." matches any run of tokens"""
    if not exp:
        return not act
    if exp[0] == "...":
        return any(match(exp[1:], act[i:]) for i in range(len(act) + 1))
    return bool(act) and tok_match(exp[0], act[0]) and match(exp[1:], act[1:])


def main():
    readme, work = sys.argv[1], sys.argv[2]
    steps = examples(open(readme, encoding="utf-8").read())
    env_h = "./_ci_build/default/hyenadna"
    bad = 0
    for cmd, want in steps:
        if cmd.startswith("H="):
            env_h = cmd[2:].split()[0]
            continue
        r = subprocess.run(["bash", "-c", 'H="$1"; ' + cmd, "readme", env_h], cwd=work, capture_output=True,
                           text=True, stdin=subprocess.DEVNULL)
        got = r.stdout
        if r.returncode != 0:
            bad += 1
            print(f"FAIL: README command exits {r.returncode}: {cmd}\n    " + r.stderr.strip().replace("\n", "\n    "))
            continue
        if want and not match(" ".join(want).split(), got.split()):
            bad += 1
            print(f"FAIL: README command prints other output: {cmd}\n  README:\n    " + "\n    ".join(want) +
                  "\n  now:\n    " + got.rstrip().replace("\n", "\n    "))
    n_out = sum(1 for _, w in steps if w)
    print(f"{len(steps)} README commands, {n_out} with output shown, {bad} failed")
    if len(steps) < 5 or n_out < 4:
        print("FAIL: the README's examples were not found (did the quick start's layout change?)")
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
