import { strict as assert } from 'node:assert';
import { htmlOfText } from '../../lib/mailer';

describe('the HTML part of a text email (issue 17, item 10)', () => {
  it('keeps paragraphs and links, escapes what a customer wrote, and puts the QR code under its link', () => {
    const link = 'https://backoffice.example/v1/verification/abc_-123';
    const html = htmlOfText(['Hello <script>alert(1)</script> & "Co",', '', 'Open this link:', link, `QR code: ${link}/qr.png`].join('\n'), {
      link,
      cid: 'qr@backoffice',
    });
    assert.ok(html.includes('<p>Hello &#60;script&#62;alert(1)&#60;/script&#62; &#38; &#34;Co&#34;,</p>'), html);
    assert.ok(
      html.includes(
        `<p>Open this link:<br>\n<a href="${link}">${link}</a><br><img src="cid:qr@backoffice" alt="QR code of the link above" width="240" height="240"><br>\n`,
      ),
      html,
    );
    assert.ok(html.includes(`QR code: <a href="${link}/qr.png">${link}/qr.png</a></p>`), html);
    assert.equal(html.match(/<img /g)?.length, 1, 'one image, under the link itself');
    assert.doesNotMatch(htmlOfText('No link here'), /<img /);
  });
});
