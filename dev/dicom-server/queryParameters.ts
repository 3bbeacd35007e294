// Query parameters as the service binds them: names case-insensitive, bad values refused with 400.
import { InvalidRequestError } from './dicomService.js';

export class QueryParameters {
  private readonly values = new Map<string, string[]>();

  constructor(search: URLSearchParams) {
    for (const [name, value] of search) {
      const key = name.toLowerCase();
      const list = this.values.get(key);
      if (list) list.push(value);
      else this.values.set(key, [value]);
    }
  }

  names(): string[] {
    return [...this.values.keys()];
  }

  get(name: string): string | undefined {
    return this.values.get(name.toLowerCase())?.[0];
  }

  /** Every value given for any of the names (QIDO allows an attribute by keyword or by tag). */
  all(...names: string[]): string[] {
    return names.flatMap((name) => this.values.get(name.toLowerCase()) ?? []);
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const text = this.get(name);
    if (text === undefined || text === '') return fallback;
    const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new InvalidRequestError(
        `The value '${text}' of ${name} is invalid; it must be an integer from ${min} to ${max}.`,
      );
    }
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const text = this.get(name)?.trim().toLowerCase();
    if (text === undefined || text === '') return fallback;
    if (text === 'true') return true;
    if (text === 'false') return false;
    throw new InvalidRequestError(`The value '${text}' of ${name} is invalid; it must be true or false.`);
  }

  /** An ISO 8601 date-time that names its time zone; milliseconds since the epoch. */
  dateTime(name: string): number | undefined {
    const raw = this.get(name);
    if (raw === undefined || raw === '') return undefined;
    // An unencoded '+' in a query string arrives as a space.
    const text = raw.trim().replace(/ (\d{2}:?\d{2})$/, '+$1');
    const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;
    const value = iso.test(text) ? Date.parse(text) : Number.NaN;
    if (Number.isNaN(value)) {
      throw new InvalidRequestError(`The value '${raw}' of ${name} is not an ISO 8601 date-time with a time zone.`);
    }
    return value;
  }
}
