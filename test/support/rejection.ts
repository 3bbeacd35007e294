/** Resolves with what `work` rejected with; fails the test when it resolves. */
export async function rejectionOf(work: () => Promise<unknown>): Promise<Error> {
  try {
    await work();
  } catch (error) {
    if (error instanceof Error) return error;
    throw error;
  }
  throw new Error('expected a failure, got a result');
}
