#!/usr/bin/env bash
# The test command: installs what the tests need when missing (Deno from npm; ffmpeg, Ceph's
# RADOS Gateway, PostgreSQL and Chromium from Debian), runs the static checks and every test, and
# ends with one line "N passed, N failed".
set -uo pipefail
export NO_COLOR=1
cd "$(dirname "$0")/.."

DENO_VERSION=2.9.6
if command -v deno >/dev/null && deno --version | grep -q "deno $DENO_VERSION"; then
  DENO=(deno)
else
  DENO=(npx -y "deno@$DENO_VERSION")
fi

need_apt=()
command -v ffmpeg >/dev/null || need_apt+=(ffmpeg)
command -v ffprobe >/dev/null || need_apt+=(ffmpeg)
for tool in radosgw ceph-mon ceph-osd; do command -v $tool >/dev/null || need_apt+=("$tool"); done
command -v ceph >/dev/null || need_apt+=(ceph-common)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
command -v chromium >/dev/null || need_apt+=(chromium)  # tests/http/page_test.ts (playwright-core)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "Installing ${need_apt[*]} (apt-get)" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >&2 ||
    { echo "Cannot install ${need_apt[*]}"; echo "0 passed, 1 failed"; exit 1; }
fi

"${DENO[@]}" install >&2 || { echo "deno install failed"; echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0
for check in "fmt --check" "lint" "check main.ts mod.ts lib/ tests/ bench/"; do
  if "${DENO[@]}" $check >/tmp/live777-check.log 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAILED: deno $check"
    tail -40 /tmp/live777-check.log
  fi
done

# The single binary: `deno compile` downloads Deno's runtime, so it runs only where that runtime is
# already cached (this machine cannot reach Deno's servers); the binary must then answer --help.
deno_dir=$("${DENO[@]}" info --json 2>/dev/null | sed -nE 's/.*"denoDir": *"([^"]+)".*/\1/p')
if ls "${deno_dir:-/nonexistent}"/dl/release/v$DENO_VERSION/denort-* >/dev/null 2>&1; then
  if "${DENO[@]}" task compile >/tmp/live777-check.log 2>&1 &&
    ./live777-recorder --help >>/tmp/live777-check.log 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAILED: deno task compile"
    tail -40 /tmp/live777-check.log
  fi
  rm -f live777-recorder
else
  echo "deno compile: skipped, Deno's runtime for compiling is not cached (it needs the network)"
fi

log=$(mktemp)
"${DENO[@]}" test -A --parallel "$@" tests/ 2>&1 | tee "$log"
summary=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -1)
if [ -z "$summary" ]; then
  echo "The test run printed no summary"
  failed=$((failed + 1))
else
  passed=$((passed + $(sed -E 's/^[A-Z a-z]+\| ([0-9]+) passed.*/\1/' <<<"$summary")))
  failed=$((failed + $(sed -E 's/.*\| ([0-9]+) failed.*/\1/' <<<"$summary")))
fi
rm -f "$log"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
