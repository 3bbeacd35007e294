/**
 * What every call to the DICOM server or the FHIR server asks before it is sent.
 * One provider per server; the provider knows the origin its tokens are for and answers
 * `undefined` for any other origin, so a token never leaves for a host it was not issued for.
 */
export interface AuthorizationProvider {
  /** The `Authorization` header value for a request to `url`, or undefined (auth disabled, or a foreign origin). */
  authorizationFor(url: string): Promise<string | undefined>;
  /**
   * Forget the cached token (after a 401), so the next call gets a fresh one.
   * Pass the rejected `Authorization` value: a 401 for a token that was already replaced is then ignored.
   */
  invalidate(rejectedAuthorization?: string): void;
}

export const noAuthorization: AuthorizationProvider = {
  authorizationFor: async () => undefined,
  invalidate: () => undefined,
};
