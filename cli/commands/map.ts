/** Placeholder until the map command lands (issue 3). */
export async function run(_args: string[]): Promise<number> {
  console.error('dicom-cast map is not available yet');
  return 1;
}
