/** Shell commands printed as hints ("next: capp …"): each argument quoted so a copy-paste runs as shown. */

/**
 * One argument for a POSIX shell: left bare when it holds only safe characters, otherwise in single
 * quotes with each `'` written as `'\''` (so `it's` → `'it'\''s'`). The empty string is `''`.
 */
export function shellQuote(arg: string): string {
  if (arg !== "" && /^[\w@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, "'\\''")}'`;
}

/** A command line from its arguments, each quoted by {@link shellQuote}. */
export function shellCommand(args: readonly string[]): string {
  return args.map(shellQuote).join(" ");
}
