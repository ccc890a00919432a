#!/usr/bin/env python3
"""test_man.py OCR_CRNN MAN_DIR — the manual pages say what --help says: for ocr-crnn(1) and
each sub-command's page, the options that `--help` defines (its option lines and usage lines)
are exactly the options that the page's SYNOPSIS and OPTIONS items define; every sub-command
of the usage has a page; each page carries the program's version; and groff, where present,
formats every page without a warning. A new option, or one renamed, fails here until its
page follows."""
import os
import re
import shutil
import subprocess
import sys

ocr, man_dir = sys.argv[1], sys.argv[2]
failures = []
checks = 0


def check(ok, message):
    global checks
    checks += 1
    if not ok:
        failures.append(message)


def run(*args):
    p = subprocess.run([ocr, *args], capture_output=True, text=True)
    return p.returncode, p.stdout


OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])")


def help_options(text):
    """Options defined by a help text: on lines that start with an option (up to the
    description column) and on usage lines."""
    found = set()
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("-"):
            found |= set(OPTION.findall(re.split(r" {2,}", s)[0]))
        elif s.startswith("usage:") or s.startswith("ocr-crnn"):
            found |= set(OPTION.findall(s.split("(")[0]))
    return found


def page_options(troff):
    """Options defined by a page: in its SYNOPSIS and in the tag line of each .TP item of its
    OPTIONS section."""
    found = set()
    section = None
    lines = troff.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(".SH "):
            section = line[4:].strip().strip('"')
            continue
        plain = line.replace("\\-", "-")
        plain = re.sub(r"\\f[BIRP]", "", plain)
        if section == "SYNOPSIS":
            found |= set(OPTION.findall(plain))
        elif section == "OPTIONS" and i > 0 and lines[i - 1].startswith(".TP"):
            found |= set(OPTION.findall(plain))
    return found


rc, version = run("--version")
check(rc == 0, "ocr-crnn --version failed")
version = version.strip().split()[-1]
rc, main_help = run("--help")
check(rc == 0, "ocr-crnn --help failed")
commands = []
for line in main_help.splitlines():
    m = re.match(r"\s*(?:usage:\s*)?ocr-crnn ([a-z|]+) ", line)
    if m and "|" in m.group(1):
        commands = m.group(1).split("|")
check(commands, "no sub-commands found in the usage of ocr-crnn --help")

groff = shutil.which("groff")
for command in [None] + commands:
    name = "ocr-crnn" + ("-" + command if command else "")
    path = os.path.join(man_dir, name + ".1")
    if not os.path.exists(path):
        check(False, "%s: no manual page %s" % (name, path))
        continue
    troff = open(path, encoding="utf-8").read()
    rc, text = run(*([command] if command else []), "--help")
    check(rc == 0, "%s --help failed" % name)
    want, have = help_options(text), page_options(troff)
    check(want, "%s: no options found in --help" % name)
    check(not want - have, "%s(1) lacks %s, which --help defines"
          % (name, " ".join(sorted(want - have))))
    check(not have - want, "%s(1) defines %s, which --help does not"
          % (name, " ".join(sorted(have - want))))
    th = re.search(r'^\.TH \S+ 1 "[^"]*" "ocr-crnn ([^"]+)"', troff, re.M)
    check(th and th.group(1) == version, "%s(1): .TH does not say ocr-crnn %s" % (name, version))
    if groff:
        p = subprocess.run([groff, "-man", "-ww", "-z", path], capture_output=True, text=True)
        check(p.returncode == 0 and not p.stderr, "%s(1): groff: %s" % (name, p.stderr.strip()))

for f in failures:
    print("FAIL:", f)
print("test_man: %d checks, %d failed%s" % (checks, len(failures),
                                            "" if groff else " (no groff: pages not formatted)"))
sys.exit(1 if failures else 0)
