#!/usr/bin/env bash
# Trains the demo model (scripts/demo_model/train.py) in a virtualenv this script creates.
# A developer runs it by hand (about an hour on 2 CPU cores); CI never does. Output:
# engine/models/demo-shapes/ (the model) and docs/demo-model/ (loss curve, hyper-parameters).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${DEMO_MODEL_VENV:-$here/../../.venv-demo-model}"
if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -r "$here/../engine-fixtures-requirements.txt"
fi
exec "$venv/bin/python" "$here/train.py" "$@"
