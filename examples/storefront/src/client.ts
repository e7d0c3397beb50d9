// The urql client: the bearer token (refreshed before it expires, and once more when the API
// answers UNAUTHENTICATED), registered operations sent by hash (the server's trusted documents),
// anonymous queries as GET (a short URL a CDN may cache) and everything signed in as POST (no
// personal variables in URLs, which proxies and CDNs log), then fetch.
import { Client, fetchExchange, makeOperation, mapExchange, type TypedDocumentNode } from 'urql';
import { authExchange } from '@urql/exchange-auth';
import { persistedExchange } from '@urql/exchange-persisted';
import type { DocumentNode, OperationDefinitionNode } from 'graphql';
import manifest from '../../../graphql/operations/manifest.json';
import { baseHeaders, config } from './config';
import { session } from './auth';
import { RefreshDocument } from './generated/graphql';

const registered = new Map(manifest.operations.map((o) => [o.name, o]));

export function operationName(doc: DocumentNode): string | undefined {
  const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition');
  return op?.name?.value;
}

/** The registered text of an operation (what runs on a trusted-documents server). */
export function registeredBody(doc: TypedDocumentNode<any, any>): string {
  const name = operationName(doc);
  const op = name ? registered.get(name) : undefined;
  if (!op) throw new Error(`operation ${name} is not registered: run pupitre operations register`);
  return op.body;
}

/** The language messages are asked in (`Accept-Language`); one client serves every language,
 * so that two clients never refresh the same session at once. */
let language = 'fr';
export function setLanguage(lang: string) {
  language = lang;
}

/** Operations that carry no access token: signing in, and renewing an expired token. */
const WITHOUT_TOKEN = new Set(['Login', 'Register', 'Refresh']);
const needsToken = (doc: DocumentNode) => !WITHOUT_TOKEN.has(operationName(doc) ?? '');

export function makeClient(): Client {
  return new Client({
    url: config.graphqlUrl,
    fetchOptions: () => ({ headers: baseHeaders(language) }),
    requestPolicy: 'network-only',
    exchanges: [
      authExchange(async (utils) => ({
        addAuthToOperation(operation) {
          const t = session.get();
          if (!t || !needsToken(operation.query)) return operation;
          return utils.appendHeaders(operation, { Authorization: `Bearer ${t.accessToken}` });
        },
        // Renewed when less than 30 s are left, before the request rather than after a refusal.
        willAuthError(operation) {
          const t = session.get();
          return !!t && needsToken(operation.query) && t.expiresAt - Date.now() < 30_000;
        },
        // A refused token (revoked, say): renew once. A failed log-in is not one.
        didAuthError(error, operation) {
          return (
            !!session.get() &&
            needsToken(operation.query) &&
            error.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED')
          );
        },
        async refreshAuth() {
          const t = session.get();
          if (!t) return;
          const r = await utils.mutate(RefreshDocument, { refreshToken: t.refreshToken });
          if (r.data?.refreshToken) session.set(r.data.refreshToken);
          // Signed out only when the refresh token itself is refused, not on a network blip.
          else if (r.error?.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED')) session.clear();
        },
      })),
      persistedExchange({
        enforcePersistedQueries: true,
        enableForMutation: true,
        preferGetForPersistedQueries: false,
        generateHash: async (_query, document) => {
          const name = operationName(document);
          return name ? registered.get(name)?.id : undefined;
        },
      }),
      mapExchange({
        onOperation(operation) {
          if (operation.kind !== 'query') return operation;
          const preferGetMethod = session.get() ? false : 'within-url-limit';
          return makeOperation(operation.kind, operation, { ...operation.context, preferGetMethod });
        },
      }),
      fetchExchange,
    ],
  });
}

/** Uploads files with the GraphQL multipart request spec (urql's fetch does not send files
 * on a persisted request): the registered AddDocuments text, the files as parts. */
export async function uploadDocuments(
  doc: TypedDocumentNode<any, any>,
  variables: { input: { applicationId: string; kind: string } },
  files: File[],
): Promise<{ errors?: { message: string; extensions?: { code?: string } }[] }> {
  const operations = {
    query: registeredBody(doc),
    variables: { input: { ...variables.input, files: files.map(() => null) } },
  };
  const map: Record<string, string[]> = {};
  files.forEach((_, i) => (map[String(i)] = [`variables.input.files.${i}`]));
  const form = new FormData();
  form.append('operations', JSON.stringify(operations));
  form.append('map', JSON.stringify(map));
  // A neutral name: a file's own name often holds the person's name.
  files.forEach((f, i) => form.append(String(i), f, `document-${i + 1}.${f.name.split('.').pop()?.toLowerCase() ?? 'pdf'}`));
  const t = session.get();
  const headers: Record<string, string> = baseHeaders(language);
  if (t) headers.Authorization = `Bearer ${t.accessToken}`;
  const res = await fetch(config.graphqlUrl, { method: 'POST', headers, body: form });
  try {
    return await res.json();
  } catch {
    return { errors: [{ message: `HTTP ${res.status}` }] };
  }
}
