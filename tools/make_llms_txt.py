#!/usr/bin/env python
"""Write nbs/llms.txt (https://llmstxt.org) for the docs site from the notebooks themselves.

  python tools/make_llms_txt.py          # (re)write nbs/llms.txt
  python tools/make_llms_txt.py --check  # exit 1 if nbs/llms.txt is not what the notebooks give (tests and CI use this)
  python tools/make_llms_txt.py --print  # print it instead of writing

Each page is listed with the title (`# Title`) and description (`> ...`) of its notebook's first markdown cell, and a
link to the Markdown copy Quarto keeps next to the HTML page (`keep-md: true` in nbs/_quarto.yml). How-to guides
(nbs/tutorials) come first, in reading order, then the module pages (nbs/NN_name.ipynb, then
subpackages: nbs/folder/index.ipynb and nbs/folder/NN_part.ipynb). Adding, renaming or retitling
a notebook changes the file, and `--check` fails until it is regenerated, so the list cannot go stale.
"""
import argparse, configparser, json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS, OUT = ROOT/'nbs', ROOT/'nbs'/'llms.txt'
# reading order of the how-to guides; any other tutorial follows, alphabetically
GUIDE_ORDER = ['one_time_payments', 'subscriptions', 'customer_management', 'webhooks', 'architecture']

def settings():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT/'settings.ini')
    return cfg['DEFAULT']

def site_url(cfg):
    host = cfg.get('doc_host', '').replace('%(user)s', cfg.get('user', ''))
    base = cfg.get('doc_baseurl', '').replace('%(repo)s', cfg.get('repo', ''))
    return (host.rstrip('/') + '/' + base.strip('/')).rstrip('/')

def title_desc(nb_path):
    "Title and one-line description from the first markdown cell of a notebook"
    nb = json.loads(nb_path.read_text())
    for cell in nb['cells']:
        if cell['cell_type'] != 'markdown': continue
        src = ''.join(cell['source'])
        t = re.search(r'^#\s+(.+)$', src, re.M)
        if not t: continue
        d = re.search(r'^>\s*(.+(?:\n(?!\s*$)(?!#).+)*)', src, re.M)  # the quote's paragraph, wrapped lines included
        return t.group(1).strip(), ' '.join(l.lstrip('> ').strip() for l in d.group(1).splitlines()) if d else ''
    return nb_path.stem.replace('_', ' ').capitalize(), ''

def page_url(site, nb_path):
    rel = nb_path.relative_to(NBS).with_suffix('')
    parts = [re.sub(r'^\d+_', '', p) for p in rel.parts]  # nbdev drops the number prefix
    return f"{site}/{'/'.join(parts)}.html.md"

def guides():
    nbs = {p.stem: p for p in (NBS/'tutorials').glob('*.ipynb') if not p.stem.startswith('_')}
    return [nbs[n] for n in GUIDE_ORDER if n in nbs] + [nbs[n] for n in sorted(nbs) if n not in GUIDE_ORDER]

def modules():
    "Module pages: nbs/NN_name.ipynb, then each subpackage folder's index.ipynb and nbs/folder/NN_part.ipynb"
    numbered = lambda d: sorted(p for p in d.glob('*.ipynb') if re.match(r'\d+_', p.name))
    subs = [d for d in sorted(NBS.iterdir()) if d.is_dir() and d.name != 'tutorials' and not d.name.startswith(('_', '.'))]
    return numbered(NBS) + [p for d in subs for p in [d/'index.ipynb'][:(d/'index.ipynb').exists()] + numbered(d)]

def entry(site, p):
    t, d = title_desc(p)
    return f'- [{t}]({page_url(site, p)})' + (f': {d}' if d else '')

def render():
    cfg = settings()
    site = site_url(cfg)
    lines = [f"# {cfg.get('lib_name', 'faststripe')}", '', f"> {cfg.get('description', '').strip()}", '',
             'Every Stripe operation is a method of `StripeApi` (`from faststripe.core import *`; '
             '`sapi = StripeApi()` reads `STRIPE_SECRET_KEY`), named two ways: path style (`sapi.customers.post`, '
             '`sapi.checkout.sessions_post`) and resource style (`sapi.customers.create`, `sapi.checkout_sessions.create`). '
             'Helpers such as `sapi.one_time_payment(...)`, `sapi.subscription(...)` and `sapi.billing_portal(...)` '
             'cover the common payment jobs; `faststripe.offline.offline_api()` is an in-process Stripe for tests.', '',
             '## How-to guides', '', *[entry(site, p) for p in guides()], '',
             '## Modules', '', *[entry(site, p) for p in modules()], '']
    return '\n'.join(lines)

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument('--check', action='store_true', help='exit 1 if nbs/llms.txt is out of date')
    g.add_argument('--print', action='store_true', help='print instead of writing')
    a = ap.parse_args(argv)
    txt = render()
    if a.print: print(txt, end='')
    elif a.check:
        if not OUT.exists() or OUT.read_text() != txt:
            print(f'{OUT.relative_to(ROOT)} is out of date: run python tools/make_llms_txt.py', file=sys.stderr)
            return 1
    else: OUT.write_text(txt)
    return 0

if __name__ == '__main__': sys.exit(main())
