/**
 * How long a server asked us to wait before the next request: `x-ms-retry-after-ms` (Azure, milliseconds) wins
 * over `Retry-After` (RFC 9110: delta-seconds or an HTTP date). Undefined when neither is given or usable.
 */
export function retryAfterMs(headers: Record<string, unknown>, now: number = Date.now()): number | undefined {
  const header = (name: string): string | undefined => {
    const value = headers[name] ?? headers[name.toLowerCase()];
    const text: unknown = Array.isArray(value) ? (value as unknown[])[0] : value;
    return typeof text === 'string' ? text.trim() : typeof text === 'number' ? String(text) : undefined;
  };
  const milliseconds = header('x-ms-retry-after-ms');
  if (milliseconds !== undefined && /^\d+(\.\d+)?$/.test(milliseconds)) return Math.ceil(Number(milliseconds));
  const retryAfter = header('retry-after');
  if (retryAfter === undefined || retryAfter === '') return undefined;
  if (/^\d+$/.test(retryAfter)) return Number(retryAfter) * 1000;
  // An HTTP date names a day of the week and a time zone; anything else Date.parse might accept is ignored.
  if (!/^[A-Za-z]{3},? .*\d{2}:\d{2}:\d{2}/.test(retryAfter)) return undefined;
  const at = Date.parse(retryAfter);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}
