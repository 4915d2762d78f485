/** What a recovering holder is shown of a channel: enough to recognise it, not enough to learn it. */
export function maskPhone(phone: string): string {
  return phone.slice(0, 3) + '•'.repeat(Math.max(0, phone.length - 5)) + phone.slice(-2);
}

export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  const dot = domain.lastIndexOf('.');
  const host = dot > 0 ? domain.slice(0, dot) : domain;
  const tld = dot > 0 ? domain.slice(dot) : '';
  return `${local[0] ?? ''}${'•'.repeat(Math.max(3, local.length - 1))}@${host[0] ?? ''}${'•'.repeat(Math.max(3, host.length - 1))}${tld}`;
}
