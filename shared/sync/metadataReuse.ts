import type { ImagingStudy } from '@medplum/fhirtypes';

/**
 * What one sync of a message read of the study's metadata (the writer keeps its StudyIntake: the instances' records,
 * not the metadata), kept for that sync's later passes (a restart after merging
 * copies, a conflict that left the ImagingStudy as it was) so they do not read the DICOM server again.
 *
 * Safe only while the ImagingStudy is exactly as it was when the metadata was read: the writer's guarantee is that
 * its write is fenced by an ImagingStudy version read *before* the DICOM data it writes. A later pass that finds
 * the same version (or still none) is fenced by the very version the kept metadata was read after, so it writes
 * what a first pass would have; once anyone wrote the ImagingStudy, the pass reads the DICOM server again.
 */
export class MetadataReuse<T> {
  private kept: { fence: string; metadata: T } | undefined;

  /** The metadata kept for this fence, or what `read` returns (then kept for it). */
  async read(imagingStudy: ImagingStudy | undefined, read: () => Promise<T>): Promise<T> {
    const fence = fenceOf(imagingStudy);
    if (this.kept?.fence === fence) return this.kept.metadata;
    this.kept = undefined;
    const metadata = await read();
    this.kept = { fence, metadata };
    return metadata;
  }

  /**
   * This sync wrote the ImagingStudy from the kept metadata (its transaction committed, then a conflict showed):
   * FHIR holding exactly that version means nobody wrote since, so the kept metadata is still the newest written.
   */
  wrote(imagingStudy: { id: string; versionId: string }): void {
    if (this.kept) this.kept = { ...this.kept, fence: `${imagingStudy.id}@${imagingStudy.versionId}` };
  }
}

/** The ImagingStudy version a write is fenced by: its id and versionId, or none (a conditional create). */
function fenceOf(imagingStudy: ImagingStudy | undefined): string {
  if (!imagingStudy) return 'none';
  // Without a versionId nothing proves the resource unchanged: never reuse.
  const version = imagingStudy.meta?.versionId;
  return version === undefined ? `unversioned ${Math.random()}` : `${imagingStudy.id ?? ''}@${version}`;
}
