/**
 * Part-10 files written byte by byte, for inputs no DICOM library would write: sequences nested 100,000 deep,
 * items without end, lengths that lie. Explicit VR little endian unless said otherwise.
 */

export function element(group: number, elementNumber: number, vr: string, value: Uint8Array): Buffer {
  const long = ['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV'].includes(vr);
  const header = Buffer.alloc(long ? 12 : 8);
  header.writeUInt16LE(group, 0);
  header.writeUInt16LE(elementNumber, 2);
  header.write(vr, 4, 'latin1');
  if (long) header.writeUInt32LE(value.length, 8);
  else header.writeUInt16LE(value.length, 6);
  return Buffer.concat([header, value]);
}

/** A text value padded to an even length (NUL for UI, space otherwise). */
export function text(value: string, vr = 'LO'): Buffer {
  const bytes = Buffer.from(value, 'latin1');
  return bytes.length % 2 === 0 ? bytes : Buffer.concat([bytes, Buffer.from(vr === 'UI' ? '\0' : ' ')]);
}

export function stringElement(group: number, elementNumber: number, vr: string, value: string): Buffer {
  return element(group, elementNumber, vr, text(value, vr));
}

/** An item (FFFE,E000) of defined length. */
function item(content: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16LE(0xfffe, 0);
  header.writeUInt16LE(0xe000, 2);
  header.writeUInt32LE(content.length, 4);
  return Buffer.concat([header, content]);
}

export function fileMeta(transferSyntax = '1.2.840.10008.1.2.1'): Buffer {
  const body = Buffer.concat([
    element(0x0002, 0x0001, 'OB', Buffer.from([0, 1])),
    stringElement(0x0002, 0x0002, 'UI', '1.2.840.10008.5.1.4.1.1.7'),
    stringElement(0x0002, 0x0003, 'UI', '1.2.3.4.5.6'),
    stringElement(0x0002, 0x0010, 'UI', transferSyntax),
  ]);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(body.length, 0);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), element(0x0002, 0x0000, 'UL', length), body]);
}

/** The identifying elements of an instance of study `study` (sorted by tag, as Part 10 wants). */
export function instanceElements(study: string, sop: string): Buffer[] {
  return [
    stringElement(0x0008, 0x0016, 'UI', '1.2.840.10008.5.1.4.1.1.7'),
    stringElement(0x0008, 0x0018, 'UI', sop),
    stringElement(0x0008, 0x0060, 'CS', 'OT'),
    stringElement(0x0010, 0x0020, 'LO', 'HOSTILE-1'),
  ];
}

/**
 * An instance whose ContentSequence (0040,A730) nests `depth` levels of defined length: built from the inside out
 * in one pass, so a file of 100,000 levels (2 MB) is made in milliseconds.
 */
export function deeplyNestedFile(depth: number, study = '1.2.3.99', sop = '1.2.3.99.1.1'): Buffer {
  const innermost = stringElement(0x0008, 0x0104, 'LO', 'innermost');
  // Level k from the inside holds innermost.length + 20 k bytes; headers are written outermost first.
  const nesting = Buffer.alloc(depth * 20);
  for (let level = 0; level < depth; level++) {
    const content = innermost.length + 20 * (depth - level - 1);
    const at = level * 20;
    nesting.writeUInt16LE(0x0040, at);
    nesting.writeUInt16LE(0xa730, at + 2);
    nesting.write('SQ', at + 4, 'latin1');
    nesting.writeUInt32LE(content + 8, at + 8);
    nesting.writeUInt16LE(0xfffe, at + 12);
    nesting.writeUInt16LE(0xe000, at + 14);
    nesting.writeUInt32LE(content, at + 16);
  }
  return Buffer.concat([
    fileMeta(),
    ...instanceElements(study, sop),
    stringElement(0x0020, 0x000d, 'UI', study),
    stringElement(0x0020, 0x000e, 'UI', `${study}.1`),
    nesting,
    innermost,
  ]);
}

/** A flat instance with the given extra elements appended (already sorted after (0020,000E)). */
export function flatFile(study: string, sop: string, extra: Buffer[] = [], transferSyntax?: string): Buffer {
  return Buffer.concat([
    fileMeta(transferSyntax),
    ...instanceElements(study, sop),
    stringElement(0x0020, 0x000d, 'UI', study),
    stringElement(0x0020, 0x000e, 'UI', `${study}.1`),
    ...extra,
  ]);
}

/** An implicit VR little endian element (no VR on the wire: readers look the tag up). */
function implicitElement(group: number, elementNumber: number, value: Uint8Array): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16LE(group, 0);
  header.writeUInt16LE(elementNumber, 2);
  header.writeUInt32LE(value.length, 4);
  return Buffer.concat([header, value]);
}

/** Implicit VR little endian, ContentSequence nested `depth` levels of defined length. */
export function implicitNestedFile(depth: number, study = '1.2.3.97'): Buffer {
  let inner: Buffer = implicitElement(0x0008, 0x0104, text('innermost'));
  for (let level = 0; level < depth; level++) inner = implicitElement(0x0040, 0xa730, item(inner));
  return Buffer.concat([
    fileMeta('1.2.840.10008.1.2'),
    implicitElement(0x0008, 0x0016, text('1.2.840.10008.5.1.4.1.1.7', 'UI')),
    implicitElement(0x0008, 0x0018, text(`${study}.1.1`, 'UI')),
    implicitElement(0x0008, 0x0060, text('OT')),
    implicitElement(0x0010, 0x0020, text('HOSTILE-1')),
    implicitElement(0x0020, 0x000d, text(study, 'UI')),
    implicitElement(0x0020, 0x000e, text(`${study}.1`, 'UI')),
    inner,
  ]);
}

/** ContentSequence nested `depth` levels of undefined length, closed by item and sequence delimiters. */
export function delimitedNestedFile(depth: number, study = '1.2.3.96'): Buffer {
  const undefinedLength = Buffer.from([0xff, 0xff, 0xff, 0xff]);
  const open = Buffer.concat([
    Buffer.from([0x40, 0x00, 0x30, 0xa7]),
    Buffer.from('SQ', 'latin1'),
    Buffer.alloc(2),
    undefinedLength,
    Buffer.from([0xfe, 0xff, 0x00, 0xe0]),
    undefinedLength,
  ]);
  const close = Buffer.from([0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0, 0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);
  return Buffer.concat([
    flatFile(study, `${study}.1.1`),
    Buffer.alloc(open.length * depth, open),
    stringElement(0x0008, 0x0104, 'LO', 'innermost'),
    Buffer.alloc(close.length * depth, close),
  ]);
}
