# Sourced by the setup scripts. quiet_pip VENV ARGS...: `pip install -q ARGS` in VENV, without the
# machine's find-links warnings ("Location ... is ignored"); on failure it prints everything and fails.
quiet_pip() {
  local venv=$1 out
  shift
  if ! out=$("$venv/bin/python" -m pip install -q "$@" 2>&1); then
    printf '%s\n' "$out" >&2
    return 1
  fi
  printf '%s\n' "$out" | grep -v '^WARNING: Location .* is ignored' || true
}
