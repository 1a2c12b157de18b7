"""nbs/llms.txt lists the docs pages and is what `tools/make_llms_txt.py` makes from the notebooks now."""
import subprocess, sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

def test_llms_txt_is_current():
    r = subprocess.run([sys.executable, 'tools/make_llms_txt.py', '--check'], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr + ' (run: python tools/make_llms_txt.py)'

def test_llms_txt_lists_the_guides():
    txt = (REPO/'nbs'/'llms.txt').read_text()
    assert txt.startswith('# faststripe\n\n> ')
    for page in ('tutorials/one_time_payments', 'tutorials/subscriptions', 'tutorials/customer_management',
                 'tutorials/architecture', '/helpers.html.md', '/core.html.md'):
        assert page in txt, page
