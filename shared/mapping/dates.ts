/**
 * DICOM DA / TM / TimezoneOffsetFromUTC → FHIR date, time and dateTime. Each parser returns undefined for a
 * value it cannot use; callers decide whether that is a warning.
 */

/** DA `YYYYMMDD` (or the old ACR-NEMA `YYYY.MM.DD`) → `YYYY-MM-DD`; a date that does not exist is invalid. */
export function toFhirDate(value: string | number): string | undefined {
  const match = /^(\d{4})\.?(\d{2})\.?(\d{2})$/.exec(String(value).trim());
  if (!match) return undefined;
  const [, yyyy = '', mm = '', dd = ''] = match;
  const year = Number(yyyy);
  const month = Number(mm);
  const day = Number(dd);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return `${yyyy}-${mm}-${dd}`;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * TM `HH`, `HHMM`, `HHMMSS`, `HHMMSS.FFFFFF` (and the old `HH:MM[:SS[.F]]`) → `hh:mm:ss[.f]`.
 * Missing minutes and seconds are `00`: FHIR needs seconds whenever a time is given.
 */
export function toFhirTime(value: string | number): string | undefined {
  const text = String(value).trim();
  const match =
    /^(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{0,6}))?)?)?$/.exec(text) ??
    /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{0,6}))?)?$/.exec(text);
  if (!match) return undefined;
  const [, hh = '', mm = '00', ss = '00', fraction = ''] = match;
  // 60 seconds: DICOM and FHIR both allow a leap second.
  if (Number(hh) > 23 || Number(mm) > 59 || Number(ss) > 60) return undefined;
  return `${hh}:${mm}:${ss}${fraction ? `.${fraction}` : ''}`;
}

/** TimezoneOffsetFromUTC `+HHMM` / `-HHMM` → `+HH:MM`, within FHIR's range (-13:59 … +14:00). */
export function toFhirOffset(value: string | number): string | undefined {
  const match = /^([+-])(\d{2})(\d{2})$/.exec(String(value).trim());
  if (!match) return undefined;
  const [, sign = '', hh = '', mm = ''] = match;
  const hours = Number(hh);
  const minutes = Number(mm);
  if (minutes > 59 || hours > 14 || (hours === 14 && minutes !== 0)) return undefined;
  return `${sign}${hh}:${mm}`;
}

/** Date and time → dateTime with offset; a date alone → the date; no date → undefined. */
export function toFhirDateTime(date: string | undefined, time: string | undefined, offset: string): string | undefined {
  if (date === undefined) return undefined;
  return time === undefined ? date : `${date}T${time}${offset}`;
}

const maxUnsignedInt = 2147483647;

/** IS (JSON string or number) → FHIR unsignedInt; negative, fractional or out of range is invalid. */
export function toUnsignedInt(value: string | number): number | undefined {
  let parsed: number;
  if (typeof value === 'number') parsed = value;
  else {
    const text = value.trim();
    if (!/^\+?\d+$/.test(text)) return undefined;
    parsed = Number(text);
  }
  return Number.isInteger(parsed) && parsed >= 0 && parsed <= maxUnsignedInt ? parsed : undefined;
}
