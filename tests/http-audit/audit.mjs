#!/usr/bin/env node
// Runs the graphql-http GraphQL-over-HTTP server audit against a URL.
//
//   node audit.mjs <url>      e.g. node audit.mjs http://127.0.0.1:8080/graphql
//   node audit.mjs --list     print the audit ids/names without running them
//
// stdout: ONE JSON array of { id, name, status, reason? }.
//   status is "ok" | "error" (failed MUST) | "warn" (failed SHOULD) |
//   "notice" (failed MAY), as produced by graphql-http. An audit that throws
//   a fatal error (e.g. connection refused) is reported as "error" with the
//   error message as reason. Response bodies are never printed.
// Exit code: 0 if the audit ran (whatever the results), non-zero otherwise.
import { serverAudits } from 'graphql-http';

function describe(err) {
  if (!(err instanceof Error)) return `fatal: ${String(err)}`;
  let msg = `fatal: ${err.message}`;
  // Node's fetch wraps the network error (ECONNREFUSED, ...) in err.cause.
  for (let c = err.cause; c; c = c.cause) {
    msg += ` (${c.code ? `${c.code}: ` : ''}${c.message ?? String(c)})`;
    if (!(c instanceof Error)) break;
  }
  return msg;
}

async function main(argv) {
  const arg = argv[0];
  if (!arg || argv.length !== 1) {
    console.error('usage: node audit.mjs <url> | --list');
    return 2;
  }

  if (arg === '--list') {
    const audits = serverAudits({ url: 'http://127.0.0.1/graphql', fetchFn: fetch });
    process.stdout.write(JSON.stringify(audits.map(({ id, name }) => ({ id, name })), null, 2) + '\n');
    return 0;
  }

  let url;
  try {
    url = new URL(arg).toString();
  } catch {
    console.error(`invalid url: ${arg}`);
    return 2;
  }

  // Same as auditServer({ url, fetchFn: fetch }), except that auditServer
  // uses Promise.all and rejects entirely when any single audit hits a fatal
  // (non-assertion) error such as a refused connection. Run each audit's fn
  // separately so such failures are reported per audit instead.
  const audits = serverAudits({ url, fetchFn: fetch });
  console.error(`running ${audits.length} audits against ${url}`);
  const results = await Promise.all(
    audits.map(async ({ id, name, fn }) => {
      try {
        const r = await fn();
        const out = { id: r.id, name: r.name, status: r.status };
        if (r.status !== 'ok') {
          out.reason = r.reason ?? '';
          // Drain the response body (never printed) so sockets are released.
          try { await r.response?.body?.cancel(); } catch {}
        }
        return out;
      } catch (err) {
        return { id, name, status: 'error', reason: describe(err) };
      }
    }),
  );

  const counts = results.reduce((acc, r) => ((acc[r.status] = (acc[r.status] ?? 0) + 1), acc), {});
  console.error(`done: ${JSON.stringify(counts)}`);
  process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    console.error(err?.stack ?? String(err));
    process.exitCode = 1;
  },
);
