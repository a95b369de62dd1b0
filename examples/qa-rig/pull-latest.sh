#!/bin/sh
# QA rig: pull the newest `branch:main` build of a firmware type, check it, and (optionally)
# flash it. The local cache (~/.cache/fwrepo, or FWREPO_CACHE_DIR) means an unchanged build
# is never downloaded twice; an interrupted download resumes where it stopped.
#
#   FWREPO_URL=... FWREPO_PARTNER=... FWREPO_CLIENT_ID=... FWREPO_CLIENT_SECRET=... \
#     ./pull-latest.sh 102 [extra --tag/--version-req arguments]
#
# Exit codes are fwrepo's: 3 nothing matched, 4 verification failed, 5 auth, 6 network.
set -eu

TYPE="${1:?usage: pull-latest.sh TYPE [fwrepo pull arguments]}"
shift
OUT="${OUT:-./firmware-${TYPE}.bin}"
FWREPO="${FWREPO:-fwrepo}"

# The newest main-branch build (by semver, then versionNumber), verified by SHA-256 on arrival.
"$FWREPO" pull --type "$TYPE" --tag branch:main "$@" -o "$OUT" --json > pulled.json

# Check it again against its record (and its embedded stamp, when the firmware has one).
"$FWREPO" verify "$OUT" --type "$TYPE" --version-number "$(sed -n 's/.*"versionNumber": "\([0-9]*\)".*/\1/p' pulled.json | head -n 1)"

if grep -q '"dirty"' pulled.json; then
    echo "warning: the newest main build came from a dirty tree" >&2
fi

echo "ready to flash: $OUT"
# e.g. st-flash write "$OUT" 0x08000000   or   probe-rs download --chip STM32F407VG "$OUT"
