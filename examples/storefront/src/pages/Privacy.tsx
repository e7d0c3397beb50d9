import { useMutation, useQuery } from 'urql';
import { StorefrontAcceptPolicyDocument, StorefrontPrivacyDocument, StorefrontSetConsentDocument, StorefrontTenantDocument, type ConsentPurpose } from '../generated/graphql';
import { date, useT } from '../i18n';
import { ErrorMessage } from '../ErrorMessage';
import { RequireSignIn } from '../App';

export function Privacy() {
  return (
    <RequireSignIn>
      <PrivacyCentre />
    </RequireSignIn>
  );
}

const PURPOSES: ConsentPurpose[] = ['MARKETING_EMAIL', 'MARKETING_PHONE', 'CLASS_RECORDING'];

function PrivacyCentre() {
  const { t, lang } = useT();
  const [{ data, error }, refetch] = useQuery({ query: StorefrontPrivacyDocument });
  const [{ data: tenant }] = useQuery({ query: StorefrontTenantDocument });
  const [setting, setConsent] = useMutation(StorefrontSetConsentDocument);
  const [accepting, accept] = useMutation(StorefrontAcceptPolicyDocument);
  const me = data?.me;
  const policy = tenant?.tenant.privacyPolicy;
  const consent = (p: ConsentPurpose) => me?.consents?.find((c) => c.purpose === p);
  return (
    <section aria-labelledby="privacy-title">
      <h1 id="privacy-title">{t.privacy}</h1>
      <ErrorMessage error={error ?? setting.error ?? accepting.error} />
      {policy && me?.mustAcceptPolicy && (
        <MustAccept onAccept={async () => { await accept({ version: policy.version }); refetch({ requestPolicy: 'network-only' }); }} url={policy.url} />
      )}
      <h2>{t.consents}</h2>
      <ul className="consents">
        {PURPOSES.map((p) => {
          const c = consent(p);
          const granted = !!c?.granted;
          return (
            <li key={p} data-purpose={p} data-granted={String(granted)}>
              {t[p]} : <strong>{granted ? t.granted : c?.recordedAt ? t.withdrawn : t.notGiven}</strong>
              {c?.recordedAt && <span className="meta"> ({date(c.recordedAt, lang)})</span>}{' '}
              <button
                type="button"
                disabled={setting.fetching}
                onClick={async () => {
                  await setConsent({ purpose: p, granted: !granted });
                  refetch({ requestPolicy: 'network-only' });
                }}
              >
                {granted ? t.withdraw : t.grant} — {t[p]}
              </button>
            </li>
          );
        })}
      </ul>
      <h2>{t.whoRead}</h2>
      {me?.accessLog?.edges.length ? (
        <table>
          <tbody>
            {me.accessLog.edges.map(({ node: a }, i) => (
              <tr key={i}><td>{date(a.at, lang)}</td><td>{a.action}</td><td>{a.actorRoles}</td><td>{a.purpose}</td></tr>
            ))}
          </tbody>
        </table>
      ) : <p>{t.none}</p>}
      <h2>{t.myRequests}</h2>
      {me?.dataSubjectRequests?.length ? (
        <ul>{me.dataSubjectRequests.map((r) => <li key={r.id}>{r.kind} — {r.status}{r.receivedAt ? ` — ${date(r.receivedAt, lang)}` : ''}</li>)}</ul>
      ) : <p>{t.none}</p>}
      {tenant && <p className="meta">{t.dpo} : {tenant.tenant.dpoName} — {tenant.tenant.dpoEmail}</p>}
    </section>
  );
}

/** Asks for the current policy when it changed since the person accepted one. */
function MustAccept({ onAccept, url }: { onAccept: () => void; url: string }) {
  const { t } = useT();
  return (
    <p role="alert">
      {t.mustAccept} <a href={url} target="_blank" rel="noreferrer">{t.readPolicy}</a>{' '}
      <button type="button" onClick={onAccept}>{t.accept}</button>
    </p>
  );
}
