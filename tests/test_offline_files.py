"""Files and quote PDFs end to end against the offline Stripe on loopback: an upload comes back byte for byte (with a
key, and through its public file link with none), and a finalized quote's PDF opens in a real PDF reader (pypdf)
showing the quote's number, its lines and its total."""
import io, pathlib
import httpx, pytest
from faststripe.core import StripeApi, APIError
from faststripe.offline import serve

import pypdf  # a test dependency (settings.ini dev_requirements; tools/test.sh installs them)

@pytest.fixture(scope='module')
def srv():
    with serve() as s: yield s

@pytest.fixture
def api(srv): return StripeApi('sk_test_files_0000000000000000', srv.url, max_retries=0)

def test_upload_download_byte_for_byte(api, tmp_path):
    data = bytes(range(256)) * 300  # every byte value, 76.8 KB
    p = tmp_path/'scan.png'; p.write_bytes(b'\x89PNG\r\n\x1a\n' + data)
    f = api.files.create(file=p, purpose='dispute_evidence', file_link_data={'create': True})
    assert (f.filename, f.size, f.type) == ('scan.png', p.stat().st_size, 'png')
    back = httpx.get(f.url, headers={'authorization': f'Bearer {api._key}'})
    assert back.status_code == 200 and back.content == p.read_bytes() and back.headers['content-type'] == 'image/png'
    link = httpx.get(f.links.data[0].url)
    assert link.status_code == 200 and link.content == p.read_bytes()
    assert httpx.get(f.url).status_code == 401  # the file's own URL needs the key, as on files.stripe.com
    assert api.files.retrieve(f.id).size == f.size
    with open(p, 'rb') as fh: again = api.files.create(file=fh, purpose='dispute_evidence')
    assert httpx.get(again.url, headers={'authorization': f'Bearer {api._key}'}).content == p.read_bytes()

def test_quote_pdf_opens(api, tmp_path):
    seat = api.prices.create(currency='usd', unit_amount=2500, product_data={'name': 'Seat licence'})
    q = api.quotes.create(customer=api.customers.create(email='buyer@example.com').id, line_items=[{'price': seat.id, 'quantity': 4}])
    with pytest.raises(Exception, match='only a finalized quote has a PDF'): api.quotes.pdf(q.id)
    q = api.quotes.finalize_quote(q.id)
    path = api.quotes.pdf.download(tmp_path/'quote.pdf', q.id)
    reader = pypdf.PdfReader(path)
    text = reader.pages[0].extract_text()
    assert len(reader.pages) == 1 and q.number in text and 'Seat licence' in text and 'x4' in text and 'Total: 100.00 USD' in text
    assert reader.metadata.title == f'Quote {q.number}'
    assert bytes(api.quotes.pdf(q.id)) == path.read_bytes()

def test_text_mode_and_missing_files_are_refused_before_sending(api, srv, tmp_path):
    p = tmp_path/'notes.txt'; p.write_text('hello')
    n = len(srv.stripe.by_schema.get('file', {}))
    with open(p) as fh, pytest.raises(TypeError, match="open it with open\\(path, 'rb'\\)"): api.files.create(file=fh, purpose='dispute_evidence')
    with pytest.raises(FileNotFoundError, match='file: no such file'): api.files.create(file=tmp_path/'nope.pdf', purpose='dispute_evidence')
    with pytest.raises(TypeError, match='not str'): api.files.create(file=str(p), purpose='dispute_evidence')
    assert len(srv.stripe.by_schema.get('file', {})) == n
