/** Placeholder until the check command lands (issue 4). */
export async function run(_args: string[]): Promise<number> {
  console.error('dicom-cast check is not available yet');
  return 1;
}
