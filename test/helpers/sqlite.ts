/** Reading a history file the way an operator would, from a second connection. */
import Database from 'better-sqlite3';

export function readRows<T>(path: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}
