#!/usr/bin/env bash
# The whole test suite, as a new user or CI runs it: `bash tools/test.sh`.
# Installs what it needs (pip, apt), checks that notebooks, package and README agree, starts localstripe on
# 127.0.0.1, runs every notebook's tests (tools/test_nbs.py: nbdev_test's runner, one interpreter per notebook), runs the pytest suite once with the newest fastcore from PyPI,
# then runs the whole pytest suite, whose summary line ends the run. Servers it started are stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
say() { printf '\n=== %s\n' "$*"; }

say "installing faststripe and its development tools"
$PY -m pip install -q --disable-pip-version-check -e ".[dev,notebook]"
$PY -m pip install -q --disable-pip-version-check playwright voila ipykernel mypy pyright
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null || ! command -v curl >/dev/null || ! command -v node >/dev/null; then
  SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium chromium-driver curl nodejs >/dev/null
fi

say "checking that notebooks, package and README agree"
state() { git status --porcelain -- nbs faststripe README.md 2>/dev/null; git diff -- nbs faststripe README.md 2>/dev/null | md5sum; }
before=$(state)
nbdev_clean
nbdev_export
$PY tools/make_readme.py --check
[ -f tools/make_llms_txt.py ] && $PY tools/make_llms_txt.py --check
after=$(state)
if [ "$before" != "$after" ]; then
  echo "nbdev_clean/nbdev_export changed the tree: notebooks must be cleaned and exported before committing"
  git status --short -- nbs faststripe; exit 1
fi

say "starting localstripe on 127.0.0.1"
LS_PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
localstripe --from-scratch --port "$LS_PORT" >/tmp/faststripe-localstripe.log 2>&1 &
LS_PID=$!
trap 'kill $LS_PID 2>/dev/null || true' EXIT
export LOCALSTRIPE_URL="http://127.0.0.1:$LS_PORT"
$PY - <<PYEOF
import sys; sys.path.insert(0, 'tests')
from conftest import wait_until_up
wait_until_up('$LOCALSTRIPE_URL/v1/customers', timeout=60)
PYEOF

say "notebook tests (nbdev's test_nb, each notebook in a fresh interpreter as in Jupyter)"
$PY tools/test_nbs.py --n_workers 2

# A second environment sees every package of this one (a .pth file) but has its own fastcore, which shadows ours.
# Jupyter's data files (Voilà's templates, for the browser test) are found through JUPYTER_PATH.
export JUPYTER_PATH="$($PY -c 'import sys; print(sys.prefix)')/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
side_env() {
  [ -x "$1/bin/python" ] || $PY -m venv "$1"
  $PY -c 'import site; print(site.getsitepackages()[0])' > "$("$1/bin/python" -c 'import site; print(site.getsitepackages()[0])')/_faststripe_parent.pth"
}

say "pytest with the newest fastcore from PyPI"
VENV=${FASTSTRIPE_NEWEST_VENV:-/tmp/faststripe-newest-fastcore}
side_env "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -U fastcore
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e .
"$VENV/bin/python" -c 'import fastcore; print("fastcore", fastcore.__version__)'
"$VENV/bin/python" -m pytest -q -p no:cacheprovider tests -x

say "the oldest fastcore faststripe claims (settings.ini: fastcore>=1.8.0): client, spec, helpers, webhooks"
VENV_OLD=${FASTSTRIPE_OLDEST_VENV:-/tmp/faststripe-oldest-fastcore}
side_env "$VENV_OLD"
"$VENV_OLD/bin/python" -m pip install -q --disable-pip-version-check "fastcore==1.8.0" 2>&1 | grep -v "requires fastcore" || true
"$VENV_OLD/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e .
"$VENV_OLD/bin/python" -c 'import fastcore; assert fastcore.__version__ == "1.8.0", fastcore.__version__'
"$VENV_OLD/bin/python" -m pytest -q -p no:cacheprovider tests/test_core_localstripe.py tests/test_spec.py \
  tests/test_guide_examples.py tests/test_helpers_localstripe.py tests/test_webhooks_stripe_crosscheck.py

say "pytest (pinned development tools)"
$PY -m pytest tests
