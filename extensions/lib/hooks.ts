/** Loading a backend answer in a Preact component: null until the first answer, then the
 *  Result; the returned function loads again (the "Try again" button, after a redeem) and the
 *  last answer stays on screen meanwhile, so what the shopper just got (a code) is not lost. */
import { useCallback, useEffect, useState } from "preact/hooks";
import type { Result } from "./api";

export function useResult<T>(load: () => Promise<Result<T>>, deps: unknown[]): [Result<T> | null, () => void] {
  const [result, setResult] = useState<Result<T> | null>(null);
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    load().then((r) => { if (live) setResult(r); });
    return () => { live = false; };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, round]);
  return [result, useCallback(() => setRound((n) => n + 1), [])];
}
