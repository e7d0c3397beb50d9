// Prints the Stripe-Signature header that Stripe's official Node library would produce.
//
// Usage: STRIPE_WEBHOOK_SECRET=whsec_... node sign.mjs <payload-file> [unix-timestamp]
//
// Used by Pupitre's tests as an independent check of the signatures made by the Rust Stripe
// stand-in (tests/common/stripe.rs). It never talks to Stripe and needs no API key.
import { readFileSync } from 'node:fs';
import Stripe from 'stripe';

const [payloadFile, timestampArg] = process.argv.slice(2);
const secret = process.env.STRIPE_WEBHOOK_SECRET;
if (!payloadFile || !secret) {
  process.stderr.write('usage: STRIPE_WEBHOOK_SECRET=whsec_... node sign.mjs <payload-file> [timestamp]\n');
  process.exit(2);
}
let timestamp;
if (timestampArg !== undefined) {
  if (!/^\d+$/.test(timestampArg)) {
    process.stderr.write(`timestamp must be a non-negative integer, got ${timestampArg}\n`);
    process.exit(2);
  }
  timestamp = Number(timestampArg);
}

// The payload is signed byte for byte as read (UTF-8), exactly as it is sent.
const payload = readFileSync(payloadFile, 'utf8');
// The key is never used: generateTestHeaderString is a local computation.
const stripe = new Stripe('sk_test_unused');
const header = stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
process.stdout.write(`${header}\n`);
