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

export function makeClient(lang: string): Client {
  return new Client({
    url: config.graphqlUrl,
    fetchOptions: () => ({ headers: baseHeaders(lang) }),
    requestPolicy: 'network-only',
    exchanges: [
      authExchange(async (utils) => ({
        addAuthToOperation(operation) {
          const t = session.get();
          return t ? utils.appendHeaders(operation, { Authorization: `Bearer ${t.accessToken}` }) : operation;
        },
        willAuthError() {
          const t = session.get();
          return !!t && t.expiresAt - Date.now() < 30_000;
        },
        didAuthError(error) {
          return error.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED');
        },
        async refreshAuth() {
          const t = session.get();
          if (!t) return;
          const r = await utils.mutate(RefreshDocument, { refreshToken: t.refreshToken });
          if (r.data?.refreshToken) session.set(r.data.refreshToken);
          else session.clear();
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
          if (operation.kind !== 'query' || session.get()) return operation;
          return makeOperation(operation.kind, operation, { ...operation.context, preferGetMethod: 'within-url-limit' });
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
  lang: string,
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
  files.forEach((f, i) => form.append(String(i), f, f.name));
  const t = session.get();
  const headers: Record<string, string> = baseHeaders(lang);
  if (t) headers.Authorization = `Bearer ${t.accessToken}`;
  const res = await fetch(config.graphqlUrl, { method: 'POST', headers, body: form });
  return res.json();
}
