# check.sh — what the shell tests share, sourced as `. "$(dirname "$0")/check.sh"`:
#   check NAME COMMAND...   runs COMMAND, counts it, and prints "FAIL: NAME" when it fails
#   same GOT WANT           GOT equals WANT (both shown when not)
#   has TEXT NEEDLE         TEXT holds NEEDLE; hasnt: it does not
# The counts are in $checks and $fails; each test prints its own summary line.
checks=0
fails=0
check() {
    checks=$((checks + 1))
    if ! "${@:2}"; then
        echo "FAIL: $1" >&2
        fails=$((fails + 1))
    fi
}
same() { [ "$1" == "$2" ] || { printf 'expected:\n%s\ngot:\n%s\n' "$2" "$1" >&2; return 1; }; }
has() { grep -qF -- "$2" <<<"$1" || { printf 'no "%s" in:\n%s\n' "$2" "$1" >&2; return 1; }; }
hasnt() { ! grep -qF -- "$2" <<<"$1" || { printf 'unexpected "%s" in:\n%s\n' "$2" "$1" >&2; return 1; }; }
