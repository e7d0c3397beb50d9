// The storefront's settings, read at start (a deployment serves its own copy of this file).
// graphqlUrl: the Pupitre API; tenant: sent as X-Pupitre-Tenant when the API host is shared;
// stripe.testApiBase: only against the test stand-in (the end-to-end test sets it).
window.PUPITRE_CONFIG = {
  graphqlUrl: 'http://127.0.0.1:8080/graphql',
  tenant: null,
  stripe: null,
};
