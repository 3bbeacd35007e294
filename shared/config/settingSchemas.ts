import { z } from 'zod';
import { isLoopbackHost } from '../http/loopback.js';

/** How the value of a setting is checked and read: the zod schemas the settings table's parsers share. */

export const bool = z
  .string()
  .trim()
  .transform((value, ctx) => {
    const lower = value.toLowerCase();
    if (lower === 'true' || lower === '1') return true;
    if (lower === 'false' || lower === '0' || lower === '') return false;
    ctx.addIssue({ code: 'custom', message: 'must be true or false' });
    return z.NEVER;
  });

export const intInRange = (min: number, max: number) =>
  z.string().trim().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(min).max(max));

/** An http(s) URL; plain http only for loopback, so a credential never travels in clear text. */
export const serverUrl = z
  .string()
  .trim()
  .superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be an absolute URL' });
      return;
    }
    if (url.username || url.password) {
      ctx.addIssue({ code: 'custom', message: 'must not contain a user name or password' });
      return;
    }
    if (url.protocol === 'https:') return;
    if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return;
    ctx.addIssue({ code: 'custom', message: 'must use https (plain http is accepted only for loopback addresses)' });
  })
  .transform((value) => value.replace(/\/+$/, ''));

export const timezoneOffset = z
  .string()
  .trim()
  .regex(/^[+-](0\d|1[0-4]):[0-5]\d$/, 'must look like +00:00 or -05:00');

export const tableName = z
  .string()
  .trim()
  .regex(/^[A-Za-z][A-Za-z0-9]{2,62}$/, 'must be a valid Azure Table name');
