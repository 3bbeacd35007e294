/** The keys of `T` whose type admits undefined. */
type MaybeUndefinedKeys<T> = { [K in keyof T]-?: undefined extends T[K] ? K : never }[keyof T];

/** `T` with every property that may be undefined made optional instead (absent, never set to undefined). */
export type WithoutUndefined<T> = Omit<T, MaybeUndefinedKeys<T>> & {
  [K in MaybeUndefinedKeys<T>]?: Exclude<T[K], undefined>;
};

/**
 * A shallow copy of `value` without its undefined properties, so `{ id, versionId }` with an unknown version
 * becomes `{ id }`: what `exactOptionalPropertyTypes` calls absent. Shorter than one
 * `...(x !== undefined ? { x } : {})` spread per key; falsy values other than undefined ('' and 0) are kept.
 */
export function omitUndefined<T extends object>(value: T): WithoutUndefined<T> {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as WithoutUndefined<T>;
}
