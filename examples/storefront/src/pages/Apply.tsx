import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import {
  AddDocumentsDocument,
  CreateApplicationDocument,
  MyApplicationsDocument,
  SubmitApplicationDocument,
  type DocumentKind,
  type IncomeBracket,
} from '../generated/graphql';
import { uploadDocuments } from '../client';
import { useT } from '../i18n';
import { ErrorMessage } from '../ErrorMessage';
import { RequireSignIn } from '../App';

export function Apply({ courseId }: { courseId: string }) {
  return (
    <RequireSignIn>
      <Application courseId={courseId} />
    </RequireSignIn>
  );
}

type ApiError = { message: string; extensions?: Record<string, unknown> };

function Application({ courseId }: { courseId: string }) {
  const { t } = useT();
  const [created, createApplication] = useMutation(CreateApplicationDocument);
  const [submitted, submitApplication] = useMutation(SubmitApplicationDocument);
  const [{ data: mine }, refetch] = useQuery({ query: MyApplicationsDocument });
  const [uploadErrors, setUploadErrors] = useState<ApiError[] | null>(null);
  const [sent, setSent] = useState(false);
  const [busy, setBusy] = useState(false);
  // The draft, once created: a retry (after a refused file, say) adds to it instead of
  // creating a second application, which the API refuses.
  const [draftId, setDraftId] = useState<string | null>(null);
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    setBusy(true);
    setUploadErrors(null);
    try {
      const f = new FormData(e.currentTarget);
      const file = f.get('file');
      const bracket = String(f.get('incomeBracket'));
      let id = draftId;
      if (!id) {
        const r = await createApplication({
          input: {
            courseId,
            situation: {
              incomeBracket: bracket ? (bracket as IncomeBracket) : undefined,
              scholarshipHolder: f.get('scholarship') === 'on',
              text: String(f.get('text') ?? '') || undefined,
            },
          },
        });
        id = r.data?.createApplication.application.id ?? null;
        if (!id) return;
        setDraftId(id);
      }
      if (file instanceof File && file.size > 0) {
        const up = await uploadDocuments(AddDocumentsDocument, { input: { applicationId: id, kind: String(f.get('kind')) as DocumentKind } }, [file]);
        if (up.errors?.length) {
          setUploadErrors(up.errors);
          return;
        }
      }
      const s = await submitApplication({ id });
      if (s.data) {
        setSent(true);
        refetch({ requestPolicy: 'network-only' });
      }
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="apply-title">
      <h1 id="apply-title">{t.eoTitle}</h1>
      {sent ? (
        <p role="status" className="success">{t.applicationSent}</p>
      ) : (
        <form onSubmit={submit}>
          <label>
            {t.incomeBracket}
            <select name="incomeBracket" defaultValue="">
              <option value="">—</option>
              <option value="BELOW_10K">&lt; 10 000 €</option>
              <option value="FROM_10K_TO_20K">10 000 – 20 000 €</option>
              <option value="FROM_20K_TO_30K">20 000 – 30 000 €</option>
              <option value="ABOVE_30K">&gt; 30 000 €</option>
            </select>
          </label>
          <label className="check"><input name="scholarship" type="checkbox" />{t.scholarship}</label>
          <label>{t.situation}<textarea name="text" maxLength={2000} rows={4} /></label>
          <label>
            {t.documentKind}
            <select name="kind" defaultValue="TAX_NOTICE">
              {(['TAX_NOTICE', 'SCHOLARSHIP_NOTICE', 'IDENTITY_DOCUMENT', 'OTHER'] as const).map((k) => <option key={k} value={k}>{t[k]}</option>)}
            </select>
          </label>
          <label>{t.file}<input name="file" type="file" accept="application/pdf,image/jpeg,image/png" required /></label>
          <ErrorMessage error={created.error ?? submitted.error ?? uploadErrors} />
          <button type="submit" disabled={busy}>{t.sendApplication}</button>
        </form>
      )}
      <h2>{t.myApplications}</h2>
      <ul className="applications">
        {mine?.applications.edges.map(({ node: a }) => (
          <li key={a.id} data-status={a.status}>{a.course?.title} — {a.status}{a.decision ? ` (${a.decision.status} ${a.decision.discountPercent ?? ''} %)` : ''}</li>
        ))}
      </ul>
    </section>
  );
}
