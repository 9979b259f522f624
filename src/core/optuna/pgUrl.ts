/**
 * Optuna's PostgreSQL storage URLs (SQLAlchemy form): `postgresql://user:pass@host:port/db`,
 * `postgresql+psycopg2://…`, `postgres://…`, a unix socket as `?host=/run/postgresql`. The password
 * may instead come from `PGPASSWORD` or `~/.pgpass` (the `pg` client reads both). A URL is never
 * printed as given: `redactUrl` replaces the password with `***`.
 */

/** True when `storage` is a PostgreSQL URL (any `postgres`/`postgresql[+driver]` scheme). */
export function isPostgresUrl(storage: string): boolean {
  return /^\s*postgres(ql)?(\+[a-z0-9_]+)?:\/\//i.test(storage);
}

/** The URL with its password (and any `password=` query value) replaced by `***`. */
export function redactUrl(url: string): string {
  return url.replace(/(:\/\/[^:/@?#]*):[^@/?#]*@/, "$1:***@").replace(/([?&]password=)[^&#]*/gi, "$1***");
}

/** The connection string the `pg` client takes: the scheme reduced to `postgresql://`. */
export function pgConnectionString(url: string): string {
  return url.trim().replace(/^postgres(ql)?(\+[a-z0-9_]+)?:\/\//i, "postgresql://");
}

/** Replace every occurrence of the URL (raw or as pg saw it) and its password in `text`. */
export function redactIn(text: string, url: string): string {
  let out = text.split(url).join(redactUrl(url));
  const cs = pgConnectionString(url);
  out = out.split(cs).join(redactUrl(cs));
  const pw = /:\/\/[^:/@?#]*:([^@/?#]*)@/.exec(url)?.[1];
  if (pw && pw.length >= 3) {
    out = out.split(pw).join("***");
    try {
      const dec = decodeURIComponent(pw);
      if (dec.length >= 3) out = out.split(dec).join("***");
    } catch {
      // not URI-encoded
    }
  }
  return out;
}
