// Recipients as the API and the logs show them: enough to recognise, not
// enough to harvest. The full value stays in the notifications table only.

/** `jane.doe@example.com` → `j***@example.com`. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${email.slice(0, 1)}***${email.slice(at)}`;
}

/** `+14155550123` → `+1******0123`: country digit and last four. */
export function maskPhone(phone: string): string {
  if (phone.length < 7) return '***';
  return `${phone.slice(0, 2)}${'*'.repeat(phone.length - 6)}${phone.slice(-4)}`;
}

export function maskRecipient(channel: 'email' | 'sms', recipient: string): string {
  return channel === 'email' ? maskEmail(recipient) : maskPhone(recipient);
}

/** Masks every email address and E.164-looking number inside a free text (provider errors). */
export function redactAddresses(text: string): string {
  return text
    .replace(/[^\s<>"'@,;:]+@[^\s<>"',;:]+/g, (m) => maskEmail(m))
    .replace(/\+[1-9]\d{6,14}/g, (m) => maskPhone(m));
}
