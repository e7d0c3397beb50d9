import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { LoginDocument, RegisterDocument, StorefrontTenantDocument } from '../generated/graphql';
import { session } from '../auth';
import { go } from '../router';
import { useT } from '../i18n';
import { ErrorMessage } from '../ErrorMessage';

/** Back to where the person was sent from (checkout, say), else the catalogue. */
function returnToNext() {
  const next = sessionStorage.getItem('pupitre.next');
  sessionStorage.removeItem('pupitre.next');
  go(next ? next.replace(/^#/, '') : '/');
}

export function Register() {
  const { t, lang } = useT();
  const [{ data: tenant }] = useQuery({ query: StorefrontTenantDocument });
  const [{ error, fetching }, register] = useMutation(RegisterDocument);
  const [accepted, setAccepted] = useState(false);
  const policy = tenant?.tenant.privacyPolicy;
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    if (!policy) return;
    const f = new FormData(e.currentTarget);
    const r = await register({
      input: {
        email: String(f.get('email')),
        password: String(f.get('password')),
        firstName: String(f.get('firstName')),
        lastName: String(f.get('lastName')),
        locale: lang,
        acceptedPolicyVersion: policy.version,
        marketingEmailConsent: f.get('marketing') === 'on',
      },
    });
    if (r.data?.register) {
      session.set(r.data.register);
      returnToNext();
    }
  };
  return (
    <section aria-labelledby="register-title">
      <h1 id="register-title">{t.register}</h1>
      <form onSubmit={submit}>
        <label>{t.firstName}<input name="firstName" required autoComplete="given-name" /></label>
        <label>{t.lastName}<input name="lastName" required autoComplete="family-name" /></label>
        <label>{t.email}<input name="email" type="email" required autoComplete="email" /></label>
        <label>{t.password}<input name="password" type="password" required minLength={12} autoComplete="new-password" /></label>
        {policy && (
          <>
            <p><a href={policy.url} target="_blank" rel="noreferrer">{t.readPolicy}</a></p>
            <label className="check">
              <input name="policy" type="checkbox" required checked={accepted} onChange={(e) => setAccepted(e.target.checked)} />
              {t.acceptPolicy(policy.version)}
            </label>
          </>
        )}
        <label className="check"><input name="marketing" type="checkbox" />{t.marketingOptIn}</label>
        <ErrorMessage error={error} />
        <button type="submit" disabled={!accepted || fetching}>{t.createAccount}</button>
      </form>
      {tenant && <p className="meta">{t.dpo} : {tenant.tenant.dpoName} — {tenant.tenant.dpoEmail}</p>}
    </section>
  );
}

export function SignIn() {
  const { t } = useT();
  const [{ error, fetching }, login] = useMutation(LoginDocument);
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const r = await login({ email: String(f.get('email')), password: String(f.get('password')) });
    if (r.data?.login) {
      session.set(r.data.login);
      returnToNext();
    }
  };
  return (
    <section aria-labelledby="signin-title">
      <h1 id="signin-title">{t.signIn}</h1>
      <form onSubmit={submit}>
        <label>{t.email}<input name="email" type="email" required autoComplete="email" /></label>
        <label>{t.password}<input name="password" type="password" required autoComplete="current-password" /></label>
        <ErrorMessage error={error} />
        <button type="submit" disabled={fetching}>{t.signIn}</button>
      </form>
    </section>
  );
}
