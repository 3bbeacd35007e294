import { NonRetryableError, type ErrorLocation } from '../errors/errors.js';
import { errorMessage } from '../lib/errorDetails.js';

/**
 * Splits a JSON array of objects that arrives in text chunks into its elements, parsing each on its own, so the
 * whole text (tens of MB for the metadata of a large study) is never held or parsed at once: only the element
 * being read is. Scans each character once, tracking strings and nesting depth.
 */
export class JsonObjectArraySplitter {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private finished = false;
  private count = 0;
  /** The current element's text from earlier chunks. */
  private pending: string[] = [];

  constructor(
    private readonly onElement: (element: Record<string, unknown>, index: number) => void,
    /** Names the source in errors (e.g. the request path). */
    private readonly source: string,
    private readonly location: ErrorLocation = {},
  ) {}

  /** Elements seen so far. */
  get elements(): number {
    return this.count;
  }

  push(chunk: string): void {
    let elementStart = this.depth >= 2 ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) this.inString = false;
        continue;
      }
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
      if (this.finished) this.fail('text after the end of the array');
      if (this.depth === 0) {
        if (c !== 0x5b) this.fail('it is not a JSON array');
        this.depth = 1;
      } else if (this.depth === 1) {
        if (c === 0x7b) {
          elementStart = i;
          this.depth = 2;
        } else if (c === 0x5d) {
          this.depth = 0;
          this.finished = true;
        } else if (c !== 0x2c) {
          this.fail(`element ${this.count} is not a JSON object`);
        }
      } else if (c === 0x22) {
        this.inString = true;
      } else if (c === 0x7b || c === 0x5b) {
        this.depth++;
      } else if (c === 0x7d || c === 0x5d) {
        this.depth--;
        if (this.depth === 1) {
          this.pending.push(chunk.slice(elementStart, i + 1));
          this.emit(this.pending.join(''));
          this.pending = [];
          elementStart = -1;
        }
      }
    }
    if (this.depth >= 2 && elementStart >= 0) this.pending.push(chunk.slice(elementStart));
  }

  /** Call once the text has ended: throws when the array was not closed. */
  end(): void {
    if (!this.finished) this.fail(this.depth === 0 ? 'the body is empty' : 'the JSON array was cut short');
  }

  private emit(text: string): void {
    let element: unknown;
    try {
      element = JSON.parse(text);
    } catch (error) {
      this.fail(`element ${this.count} is not valid JSON (${errorMessage(error)})`);
    }
    this.onElement(element as Record<string, unknown>, this.count++);
  }

  private fail(why: string): never {
    throw new NonRetryableError(
      `${this.source} returned metadata that is not a JSON array of objects: ${why}`,
      'bad-dicom-data',
      this.location,
    );
  }
}
