import { NonRetryableError, type ErrorLocation } from '../errors/errors.js';
import { errorMessage } from '../lib/errorDetails.js';

const space = 0x20;
const newline = 0x0a;
const carriageReturn = 0x0d;
const tab = 0x09;
const quote = 0x22;
const backslash = 0x5c;
const comma = 0x2c;
const openBrace = 0x7b;
const closeBrace = 0x7d;
const openBracket = 0x5b;
const closeBracket = 0x5d;

function isSpace(c: number): boolean {
  return c === space || c === newline || c === carriageReturn || c === tab;
}

/**
 * Splits a JSON array that arrives in text chunks into its elements, parsing each on its own, so the whole text
 * (tens of MB for the metadata of a large study) is never held or parsed at once: only the element being read is.
 * Scans each character once, tracking strings and nesting depth. Every element is handed over whatever it is (an
 * object, an array, a string, a number, null): the caller decides what a wrong one costs (one instance, not the
 * study). What is not a JSON array at all, or not valid JSON, is refused whole.
 */
export class JsonArraySplitter {
  private depth = 0;
  private inString = false;
  /** The string being read is an element itself (not inside an object or array element). */
  private stringElement = false;
  /** A number or literal element is being read (it ends at a comma, a space or the closing bracket). */
  private inScalar = false;
  private escaped = false;
  /** Between elements: what may come next (strict as JSON.parse: one comma between elements, none around them). */
  private expect: 'first' | 'element' | 'separator' = 'first';
  private finished = false;
  private count = 0;
  /** The current element's text from earlier chunks. */
  private pending: string[] = [];

  constructor(
    private readonly onElement: (element: unknown, index: number) => void,
    /** Names the source in errors (e.g. the request path). */
    private readonly source: string,
    private readonly location: ErrorLocation = {},
  ) {}

  /** Elements seen so far. */
  get elements(): number {
    return this.count;
  }

  private get inElement(): boolean {
    return this.depth >= 2 || this.inScalar || this.stringElement;
  }

  push(chunk: string): void {
    let elementStart = this.inElement ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === backslash) this.escaped = true;
        else if (c === quote) {
          this.inString = false;
          if (this.stringElement) {
            this.stringElement = false;
            elementStart = this.emitFrom(chunk, elementStart, i + 1);
          }
        }
        continue;
      }
      if (this.depth >= 2) {
        if (c === quote) this.inString = true;
        else if (c === openBrace || c === openBracket) this.depth++;
        else if (c === closeBrace || c === closeBracket) {
          this.depth--;
          if (this.depth === 1) elementStart = this.emitFrom(chunk, elementStart, i + 1);
        }
        continue;
      }
      if (this.inScalar) {
        if (!(isSpace(c) || c === comma || c === closeBracket)) continue;
        this.inScalar = false;
        elementStart = this.emitFrom(chunk, elementStart, i);
      }
      if (isSpace(c)) continue;
      if (this.finished) this.fail('text after the end of the array');
      if (this.depth === 0) {
        if (c !== openBracket) this.fail('it is not a JSON array');
        this.depth = 1;
        continue;
      }
      if (c === closeBracket) {
        if (this.expect === 'element') this.fail('a comma before the end of the array');
        this.depth = 0;
        this.finished = true;
        continue;
      }
      if (c === comma) {
        if (this.expect !== 'separator') this.fail(`a comma where element ${this.count} should be`);
        this.expect = 'element';
        continue;
      }
      if (this.expect === 'separator') this.fail(`no comma before element ${this.count}`);
      elementStart = i;
      if (c === openBrace || c === openBracket) {
        this.depth = 2;
      } else if (c === quote) {
        this.inString = true;
        this.stringElement = true;
      } else {
        this.inScalar = true;
      }
    }
    if (this.inElement && elementStart >= 0) this.pending.push(chunk.slice(elementStart));
  }

  /** Call once the text has ended: throws when the array was not closed. */
  end(): void {
    if (!this.finished) this.fail(this.depth === 0 ? 'the body is empty' : 'the JSON array was cut short');
  }

  /** Emits the element that ends at `end` of this chunk (begun at `start`, or in an earlier chunk); returns -1. */
  private emitFrom(chunk: string, start: number, end: number): number {
    this.pending.push(chunk.slice(Math.max(start, 0), end));
    const text = this.pending.join('');
    this.pending = [];
    let element: unknown;
    try {
      element = JSON.parse(text);
    } catch (error) {
      this.fail(`element ${this.count} is not valid JSON (${errorMessage(error)})`);
    }
    this.expect = 'separator';
    this.onElement(element, this.count++);
    return -1;
  }

  private fail(why: string): never {
    throw new NonRetryableError(
      `${this.source} returned metadata that is not a JSON array of objects: ${why}`,
      'bad-dicom-data',
      this.location,
    );
  }
}
