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
  let inner: Buffer = stringElement(0x0008, 0x0104, 'LO', 'innermost');
  for (let level = 0; level < depth; level++) inner = element(0x0040, 0xa730, 'SQ', item(inner));
  return Buffer.concat([
    fileMeta(),
    ...instanceElements(study, sop),
    stringElement(0x0020, 0x000d, 'UI', study),
    stringElement(0x0020, 0x000e, 'UI', `${study}.1`),
    inner,
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
