# The checks of the shell-driven test parts (scripts/python/test.sh, scripts/windows/test.sh,
# docker/test.sh), sourced by each. A part ends with `part_summary NAME`, the
# "NAME: N passed, N failed" line scripts/summary.sh reads.

passed=0
failed=0

ok() {
    passed=$((passed + 1))
    echo "ok - $1"
}

# not_ok NAME [OUTPUT]: a failed check, with the output that shows why (a passing check's
# output, which may hold the refusal it expected, is never shown).
not_ok() {
    failed=$((failed + 1))
    echo "not ok - $1"
    [ -z "${2:-}" ] || sed 's/^/    /' <<<"$2"
}

# check NAME COMMAND: ok when COMMAND (evaluated) succeeds.
check() {
    if eval "$2"; then ok "$1"; else not_ok "$1"; fi
}

# add_counts LOG NAME: adds the counts of the last "N passed, N failed" line in LOG,
# written by the checks named NAME; a LOG without one is a failure showing its end.
add_counts() {
    local summary
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1 || true)
    if [ -z "$summary" ]; then
        not_ok "$2 ran to its end" "$(tail -20 "$1")"
    else
        passed=$((passed + $(echo "$summary" | cut -d' ' -f1)))
        failed=$((failed + $(echo "$summary" | cut -d' ' -f3)))
    fi
}

# part_summary NAME [NOTE]: the part's summary line.
part_summary() {
    echo "$1: $passed passed, $failed failed${2:+ ($2)}"
}
