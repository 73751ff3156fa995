/**
 * The one deadline of the code base: a promise that settles like `work`, or like `onTimeout()`
 * once `ms` have passed, whichever comes first. The timer is cleared either way; `work` goes on
 * (a promise cannot be cancelled), and its late outcome is ignored.
 */

/**
 * `work`'s outcome, or after `ms` what `onTimeout` returns (a value resolves, a throw rejects).
 * `onTimeout` runs only when the deadline wins.
 */
export function withDeadline<T, U = never>(
  work: Promise<T>,
  ms: number,
  onTimeout: () => U,
): Promise<T | U> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<U>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (e) {
        reject(e);
      }
    }, ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
