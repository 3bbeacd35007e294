import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeInstanceFile, type InstanceSpec } from './instanceFile.js';

export {
  EXPLICIT_VR_LITTLE_ENDIAN,
  makeInstanceFile,
  SopClass,
  sopClassFor,
  type InstanceSpec,
} from './instanceFile.js';
export { makeSampleStudies, type SampleStudiesOptions } from './sampleStudies.js';
export { SeededRandom } from './random.js';
export { uid } from './uid.js';

/** Writes one `<SOP Instance UID>.dcm` per spec into `directory` (which must exist); returns the paths. */
export async function writeSampleFiles(directory: string, specs: readonly InstanceSpec[]): Promise<string[]> {
  const paths: string[] = [];
  for (const spec of specs) {
    const path = join(directory, `${spec.sopUid}.dcm`);
    await writeFile(path, makeInstanceFile(spec));
    paths.push(path);
  }
  return paths;
}
