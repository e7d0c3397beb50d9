// The storefront's whole path in a real browser (Debian's Chromium driven by playwright-core):
// browse → course → register (privacy policy accepted) → checkout → pay (the Stripe stand-in
// confirms the PaymentIntent and sends Pupitre its signed webhook) → a lesson done → an
// equal-opportunity application with a PDF → a consent withdrawn. A screenshot of each step goes
// to ARTIFACTS. Prints one JSON line with what it did, for the caller to check in the database.
//
// Environment: PUPITRE_GRAPHQL (the API), STRIPE_BASE and STRIPE_PK (the stand-in and its
// publishable key), ARTIFACTS (a directory), CHROMIUM (default /usr/bin/chromium), SHOP_HOST and
// SHOP_PORT (where the shop is served: its origin must be one the API allows).
//
// The built storefront (dist/) is served on its own origin by a small static server, which
// also relays /stripe/* to the stand-in the way js.stripe.com would be reached by Stripe.js.
import { createServer } from 'node:http';
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('../dist/', import.meta.url));
const api = process.env.PUPITRE_GRAPHQL;
const stripeBase = process.env.STRIPE_BASE;
const stripePk = process.env.STRIPE_PK;
const artifacts = process.env.ARTIFACTS ?? 'artifacts';
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
if (!api || !stripeBase || !stripePk) {
  console.error('set PUPITRE_GRAPHQL, STRIPE_BASE and STRIPE_PK');
  process.exit(2);
}
await mkdir(artifacts, { recursive: true });

const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json' };
const config = `window.PUPITRE_CONFIG = ${JSON.stringify({
  graphqlUrl: api,
  tenant: null,
  stripe: { publishableKey: stripePk, testApiBase: '/stripe' },
})};`;

const server = createServer(async (req, res) => {
  try {
    const url = new URL(req.url, 'http://localhost');
    if (url.pathname.startsWith('/stripe/')) {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      const upstream = await fetch(stripeBase + url.pathname.slice('/stripe'.length) + url.search, {
        method: req.method,
        headers: { authorization: req.headers.authorization ?? '', 'content-type': req.headers['content-type'] ?? '' },
        body: req.method === 'GET' ? undefined : Buffer.concat(chunks),
      });
      res.writeHead(upstream.status, { 'content-type': 'application/json' });
      res.end(Buffer.from(await upstream.arrayBuffer()));
      return;
    }
    if (url.pathname === '/config.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(config);
      return;
    }
    const path = normalize(url.pathname === '/' ? '/index.html' : url.pathname);
    const body = await readFile(join(root, path));
    res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' });
    res.end(body);
  } catch {
    res.writeHead(404);
    res.end('not found');
  }
});
const host = process.env.SHOP_HOST ?? '127.0.0.1';
await new Promise((ok) => server.listen(Number(process.env.SHOP_PORT ?? 0), host, ok));
const origin = `http://${host}:${server.address().port}`;

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const log = [];
const result = { origin };
let step = 0;
const page = await browser.newPage({ viewport: { width: 1100, height: 900 }, locale: 'fr-FR' });
page.on('console', (m) => log.push(`[console.${m.type()}] ${m.text()}`));
page.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`));
page.on('requestfailed', (r) => log.push(`[requestfailed] ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
page.setDefaultTimeout(15_000);
// How each API call went: method, signed in or not, and whether the query text was sent.
const calls = [];
page.on('request', (r) => {
  if (!r.url().startsWith(api) || r.method() === 'OPTIONS') return;
  const multipart = (r.headers()['content-type'] ?? '').startsWith('multipart/');
  const body = multipart ? '' : r.postData() ?? '';
  calls.push({ method: r.method(), signedIn: !!r.headers().authorization, multipart, text: /"query"\s*:/.test(body) || r.url().includes('query=') });
});

async function shot(name) {
  step += 1;
  await page.screenshot({ path: join(artifacts, `${String(step).padStart(2, '0')}-${name}.png`), fullPage: true });
}

try {
  // 1. Browse: the catalogue, a search (accents and case ignored), a course.
  await page.goto(`${origin}/#/`);
  await page.locator('.card').first().waitFor();
  result.firstPage = await page.locator('.card').count();
  await page.getByLabel('Rechercher').fill('ANGLAIS');
  await page.getByRole('link', { name: 'Anglais A1 : grands débutants' }).waitFor();
  await shot('catalogue');
  await page.getByRole('link', { name: 'Anglais A1 : grands débutants' }).click();
  await page.getByRole('heading', { name: 'Anglais A1 : grands débutants' }).waitFor();
  result.course = page.url().split('#/course/')[1];
  await shot('course');

  // 2. Buy a seat: signed out, the checkout asks to create an account first.
  const seatsBefore = await page.locator('.sessions .seats').first().textContent();
  result.seatsBefore = seatsBefore;
  await page.getByRole('link', { name: 'Acheter' }).first().click();
  await page.getByRole('link', { name: 'Créer un compte' }).last().click();
  const email = `e2e-${Date.now()}@example.org`;
  result.email = email;
  await page.getByLabel('Prénom').fill('Camille');
  await page.getByLabel('Nom', { exact: true }).fill('Durand');
  await page.getByLabel('Adresse e-mail').fill(email);
  await page.getByLabel('Mot de passe').fill('un mot de passe assez long');
  await page.getByLabel(/J’ai lu et j’accepte la politique de confidentialité/).check();
  await page.getByLabel(/lettre d’information/).check();
  await shot('register');
  await page.getByRole('button', { name: 'Créer mon compte' }).click();

  // 3. Checkout, then pay with a test card; the order page waits for Stripe's webhook.
  await page.getByRole('heading', { name: 'Commande' }).waitFor();
  await page.getByLabel('Nom sur la facture').fill('Camille Durand');
  await page.getByLabel('Adresse', { exact: true }).fill('3 place Bellecour');
  await page.getByLabel('Code postal').fill('69002');
  await page.getByLabel('Ville').fill('Lyon');
  await page.getByRole('button', { name: 'Valider la commande' }).click();
  await page.getByRole('button', { name: 'Payer' }).waitFor();
  await shot('checkout');
  await page.getByRole('button', { name: 'Payer' }).click();
  await page.locator('[data-status="PAID"]').waitFor({ timeout: 20_000 });
  result.order = page.url().split('#/order/')[1];
  await shot('paid');

  // 4. My learning: one lesson done.
  await page.getByRole('link', { name: 'Mon apprentissage' }).first().click();
  await page.getByRole('button', { name: 'Marquer comme terminée' }).first().click();
  await page.locator('.done').first().waitFor();
  result.progress = await page.locator('.percent').first().textContent();
  await shot('lesson-done');

  // 5. An equal-opportunity application with a PDF.
  await page.goto(`${origin}/#/course/${result.course}`);
  await page.getByRole('link', { name: /égalité des chances/ }).click();
  await page.getByLabel('Revenus annuels du foyer').selectOption('BELOW_10K');
  await page.getByLabel('Votre situation (facultatif)').fill('Demandeuse d’emploi depuis six mois.');
  await page.getByLabel(/Justificatif/).setInputFiles({
    name: 'avis-imposition.pdf',
    mimeType: 'application/pdf',
    buffer: Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n'),
  });
  await page.getByRole('button', { name: 'Envoyer ma demande' }).click();
  await page.getByRole('status').filter({ hasText: 'Demande envoyée' }).waitFor();
  await page.locator('.applications li[data-status="SUBMITTED"]').first().waitFor();
  await shot('application');

  // 6. Privacy centre: the newsletter consent given at registration, withdrawn.
  await page.getByRole('link', { name: 'Mes données' }).click();
  await page.locator('[data-purpose="MARKETING_EMAIL"][data-granted="true"]').waitFor();
  await page.getByRole('button', { name: 'Retirer — Lettre d’information par e-mail' }).click();
  await page.locator('[data-purpose="MARKETING_EMAIL"][data-granted="false"]').waitFor();
  await shot('consent-withdrawn');

  // The same page in English (messages and Accept-Language).
  await page.getByRole('button', { name: 'English' }).click();
  await page.getByRole('heading', { name: 'My data', exact: true }).waitFor();
  await shot('privacy-english');
  result.calls = {
    total: calls.length,
    anonymousGets: calls.filter((c) => c.method === 'GET' && !c.signedIn).length,
    signedInGets: calls.filter((c) => c.method === 'GET' && c.signedIn).length,
    // Every JSON request and GET goes by hash; the upload (multipart) carries its registered text.
    withText: calls.filter((c) => c.text).length,
    uploads: calls.filter((c) => c.multipart).length,
  };
  result.ok = true;
} catch (e) {
  result.ok = false;
  result.error = String(e?.message ?? e);
  await shot('failure').catch(() => {});
} finally {
  await writeFile(join(artifacts, 'browser.log'), log.join('\n') + '\n');
  await browser.close();
  server.close();
}
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
