/**
 * P2: the verification link is also shown as a QR code, so a customer at a desktop can open it on the
 * phone that will photograph the document. Rendered here, so the link never goes to a third party.
 */
import { toBuffer } from 'qrcode';

export async function qrPng(text: string): Promise<Buffer> {
  // 'M' recovers about 15% of damaged modules, e.g. glare on the screen being scanned.
  return toBuffer(text, { type: 'png', errorCorrectionLevel: 'M', margin: 2, width: 320 });
}
