import { isIPv4 } from 'node:net';

/**
 * True only for a loopback host as `URL.hostname` gives it: `localhost`, `::1`, or an IPv4 address in 127.0.0.0/8.
 * A name that merely starts with "127." (`127.attacker.example`) is a DNS name anywhere on the internet.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === 'localhost' || host === '[::1]' || host === '::1') return true;
  return isIPv4(host) && host.startsWith('127.');
}
