#!/usr/bin/env bash
# Validates a provenance statement with the official in-toto attestation definitions
# (PyPI in-toto-attestation, protobuf bindings), from a venv cached under
# ~/.cache/fwrepo/. Installs it when missing; exit 3 when it cannot be installed.
#   tests/tools/validate-provenance.sh STATEMENT.json
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
VERSION="${IN_TOTO_ATTESTATION_VERSION:-0.9.3}"
venv="$HOME/.cache/fwrepo/venv-in-toto-attestation-$VERSION"
if ! "$venv/bin/python" -c 'import in_toto_attestation.v1.statement' 2>/dev/null; then
  echo "installing in-toto-attestation $VERSION from PyPI into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv" >&2 \
    && "$venv/bin/pip" install -q "in-toto-attestation==$VERSION" >&2 \
    || { echo "FATAL: in-toto-attestation cannot be installed" >&2; exit 3; }
fi
exec "$venv/bin/python" "$here/validate_provenance.py" "$1"
