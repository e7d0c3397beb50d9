// The settings `public/config.js` sets at start: a deployment changes that file, not the build.
export interface StorefrontConfig {
  graphqlUrl: string;
  tenant: string | null;
  stripe: { publishableKey: string; testApiBase?: string } | null;
}

declare global {
  interface Window {
    PUPITRE_CONFIG?: Partial<StorefrontConfig>;
  }
}

export const config: StorefrontConfig = {
  graphqlUrl: window.PUPITRE_CONFIG?.graphqlUrl ?? 'http://127.0.0.1:8080/graphql',
  tenant: window.PUPITRE_CONFIG?.tenant ?? null,
  stripe: window.PUPITRE_CONFIG?.stripe ?? null,
};

/** Headers every request carries besides the token. */
export function baseHeaders(lang: string): Record<string, string> {
  const h: Record<string, string> = { 'Accept-Language': lang };
  if (config.tenant) h['X-Pupitre-Tenant'] = config.tenant;
  return h;
}
