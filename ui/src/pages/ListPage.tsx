// What the list pages share: a server-paged listing (the API's continue tokens, "more"
// appends the next page) and its table with an empty-list message and the "more" button.
import { useEffect, useRef, useState, type ReactNode } from "react";
import { getJson } from "../api";

export interface PagedList<T> {
  rows: T[];
  loaded: boolean;
  error: unknown;
  /** Loads the next server page; null when there is none. */
  more: (() => void) | null;
}

/** The first page of `path` (again whenever `params` change), then one more page per
 *  `more()`; `merge` folds a further page into the rows (default: appended). */
export function usePagedList<T>(
  path: string,
  params: Record<string, string | null | undefined> = {},
  merge: (old: T[], page: T[]) => T[] = (old, page) => [...old, ...page],
): PagedList<T> {
  const [rows, setRows] = useState<T[]>([]);
  const [cont, setCont] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const key = JSON.stringify([path, params]);
  // The listing the rows belong to: a page that answers after `params` changed is dropped.
  const current = useRef(key);
  const load = (token: string | null) => {
    const asked = key;
    getJson<{ items: T[]; continue?: string }>(path, { ...params, continue: token })
      .then((r) => {
        if (current.current !== asked) return;
        setRows((old) => (token ? merge(old, r.items) : r.items));
        setCont(r.continue || null);
        setLoaded(true);
      })
      .catch((e) => {
        if (current.current === asked) setError(e);
      });
  };
  useEffect(() => {
    current.current = key;
    setError(null);
    setCont(null);
    load(null);
  }, [key]);
  return { rows, loaded, error, more: cont ? () => load(cont) : null };
}

/** A list table: the column heads, the rows, `empty` when there are none, and "more". */
export function ListTable({
  testid,
  columns,
  count,
  empty,
  more,
  children,
}: {
  testid: string;
  columns: string[];
  count: number;
  empty: ReactNode;
  more?: (() => void) | null;
  children: ReactNode;
}) {
  return (
    <>
      <table className="list" data-testid={testid}>
        <thead>
          <tr>
            {columns.map((c, i) => (
              <th key={i}>{c || undefined}</th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
      {count === 0 && empty}
      {more && <button onClick={more}>more</button>}
    </>
  );
}
