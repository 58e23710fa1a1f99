# The test run's bookkeeping, sourced by scripts/test.sh (and checked by tests/scripts.rs):
# each part's summary line, the parts that failed, and the grand total.

summaries=()
failed_parts=()

# Lines that look like a failure. A passing part must not print them: the tests capture
# the output of what they expect to fail and show it only when they fail, so a passing run
# never looks like a failing one.
RWSGI_NOISE='Traceback \(most recent call last\)|rwsgi-express: error:|Apache exited unexpectedly|panicked at|raised on purpose|^wine: |failed to open|^not ok '

# run_part NAME COMMAND...: runs one part, showing its output as it goes, and records its
# summary line: the last "NAME: N passed, N failed…" (or "NAME: skipped: why") it printed.
# A part that stops without one counts as one failure; a passing part that printed lines
# matching RWSGI_NOISE fails too, naming them.
run_part() {
    local name=$1 out code line noise start=$SECONDS
    shift
    out="$(mktemp)"
    set +e
    "$@" 2>&1 | tee "$out"
    code=${PIPESTATUS[0]}
    set -e
    echo "($name took $((SECONDS - start)) s)"
    line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed" "$out" | tail -1 || true)
    if [ -z "$line" ] && [ "$code" -eq 0 ]; then
        line=$(grep -E "^$name: skipped" "$out" | tail -1 || true)
    fi
    if [ -z "$line" ]; then
        line="$name: 0 passed, 1 failed (it stopped before its summary, exit status $code)"
        [ "$code" -ne 0 ] || code=1
    fi
    summaries+=("$line")
    if [ "$code" -eq 0 ]; then
        noise=$(grep -E "$RWSGI_NOISE" "$out" || true)
        if [ -n "$noise" ]; then
            summaries+=("$name: 0 passed, 1 failed (it passed but printed what looks like a failure, $(wc -l <<<"$noise") line(s); the first: $(head -1 <<<"$noise"))")
            code=1
        fi
    fi
    rm -f "$out"
    [ "$code" -eq 0 ] || failed_parts+=("$name")
}

# print_summary: the parts' lines, the parts that failed, and the grand total over every
# part as the last line (`N passed, N failed`, which CI reads). Fails when a part failed.
print_summary() {
    echo
    echo "==== rwsgi test summary ===="
    printf '%s\n' "${summaries[@]}"
    if [ ${#failed_parts[@]} -gt 0 ]; then
        echo "failed parts: ${failed_parts[*]}"
    else
        echo "failed parts: none"
    fi
    printf '%s\n' "${summaries[@]}" | awk '
        { for (i = 1; i < NF; i++) { if ($(i + 1) ~ /^passed/) p += $i; if ($(i + 1) ~ /^failed/) f += $i } }
        END { printf "%d passed, %d failed\n", p, f }'
    [ ${#failed_parts[@]} -eq 0 ]
}
