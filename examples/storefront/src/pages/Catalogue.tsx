import { useState } from 'react';
import { useQuery } from 'urql';
import { CatalogueDocument, type CourseFormat, type CourseLevel, type CourseSort } from '../generated/graphql';
import { money, date, useT } from '../i18n';
import { ErrorMessage } from '../ErrorMessage';

const PAGE = 6;

export function Catalogue() {
  const { t, lang } = useT();
  const [search, setSearch] = useState('');
  const [format, setFormat] = useState<CourseFormat | ''>('');
  const [level, setLevel] = useState<CourseLevel | ''>('');
  const [sort, setSort] = useState<CourseSort>('START_DATE');
  // The cursors of the pages seen, for "previous".
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors[cursors.length - 1];
  const filter = { search: search || undefined, format: format || undefined, level: level || undefined };
  const [{ data, fetching, error }] = useQuery({ query: CatalogueDocument, variables: { first: PAGE, after, filter, sort } });
  const reset = () => setCursors([null]);
  const page = data?.courses;
  return (
    <section aria-labelledby="catalogue-title">
      <h1 id="catalogue-title">{t.catalogueTitle}</h1>
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          {t.search}
          <input type="search" name="search" value={search} onChange={(e) => { setSearch(e.target.value); reset(); }} />
        </label>
        <label>
          {t.format}
          <select name="format" value={format} onChange={(e) => { setFormat(e.target.value as CourseFormat | ''); reset(); }}>
            <option value="">{t.any}</option>
            {(['ONLINE', 'IN_PERSON', 'VIRTUAL_CLASS'] as const).map((f) => <option key={f} value={f}>{t[f]}</option>)}
          </select>
        </label>
        <label>
          {t.level}
          <select name="level" value={level} onChange={(e) => { setLevel(e.target.value as CourseLevel | ''); reset(); }}>
            <option value="">{t.any}</option>
            {(['BEGINNER', 'INTERMEDIATE', 'ADVANCED'] as const).map((l) => <option key={l} value={l}>{t[l]}</option>)}
          </select>
        </label>
        <label>
          {t.sort}
          <select name="sort" value={sort} onChange={(e) => { setSort(e.target.value as CourseSort); reset(); }}>
            {(['START_DATE', 'PRICE', 'TITLE'] as const).map((s) => <option key={s} value={s}>{t[s]}</option>)}
          </select>
        </label>
      </form>
      <ErrorMessage error={error} />
      {fetching && !page && <p aria-live="polite">{t.loading}</p>}
      {page && page.edges.length === 0 && <p>{t.noCourse}</p>}
      <ul className="cards">
        {page?.edges.map(({ node: c }) => (
          <li key={c.slug} className="card">
            <h2><a href={`#/course/${encodeURIComponent(c.slug)}`}>{c.title}</a></h2>
            <p>{c.summary}</p>
            <p className="meta">
              {money(c.price.amountCents, c.price.currency, lang)}
              {c.format && ` · ${t[c.format]}`}
              {c.level && ` · ${t[c.level]}`}
            </p>
            {c.sessions[0] && (
              <p className="meta">
                {date(c.sessions[0].startsAt, lang)} · {t.seatsLeft(c.sessions[0].seatsLeft)}
              </p>
            )}
          </li>
        ))}
      </ul>
      <nav aria-label={t.pagination} className="pager">
        <button type="button" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>{t.previous}</button>
        <button
          type="button"
          disabled={!page?.pageInfo.hasNextPage}
          onClick={() => page?.pageInfo.endCursor && setCursors([...cursors, page.pageInfo.endCursor])}
        >
          {t.next}
        </button>
      </nav>
    </section>
  );
}
