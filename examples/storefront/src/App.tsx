import { useEffect, useMemo, useState } from 'react';
import { Provider, useMutation } from 'urql';
import { makeClient, setLanguage } from './client';
import { LangContext, messages, useT, type Lang } from './i18n';
import { go, useRoute } from './router';
import { session, useSession } from './auth';
import { LogoutDocument } from './generated/graphql';
import { Catalogue } from './pages/Catalogue';
import { CoursePage } from './pages/Course';
import { Register, SignIn } from './pages/Account';
import { Checkout, OrderPage } from './pages/Checkout';
import { Learning } from './pages/Learning';
import { Apply } from './pages/Apply';
import { Privacy } from './pages/Privacy';

export function App() {
  const [lang, setLangState] = useState<Lang>(() => (localStorage.getItem('pupitre.lang') === 'en' ? 'en' : 'fr'));
  const setLang = (l: Lang) => {
    localStorage.setItem('pupitre.lang', l);
    setLangState(l);
  };
  setLanguage(lang);
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  const client = useMemo(() => makeClient(), []);
  return (
    <LangContext.Provider value={{ lang, t: messages[lang], setLang }}>
      <Provider value={client}>
        <Layout />
      </Provider>
    </LangContext.Provider>
  );
}

function Layout() {
  const { t, lang, setLang } = useT();
  const signedIn = !!useSession();
  const [, logout] = useMutation(LogoutDocument);
  const route = useRoute();
  return (
    <>
      <header>
        <nav aria-label={t.mainNav}>
          <a href="#/">{t.shop}</a>
          {signedIn && <a href="#/learning">{t.learning}</a>}
          {signedIn && <a href="#/privacy">{t.privacy}</a>}
          {!signedIn && <a href="#/signin">{t.signIn}</a>}
          {!signedIn && <a href="#/register">{t.register}</a>}
          {signedIn && (
            <button type="button" onClick={async () => { await logout({}); session.clear(); go('/'); }}>
              {t.signOut}
            </button>
          )}
          <button type="button" lang={lang === 'fr' ? 'en' : 'fr'} onClick={() => setLang(lang === 'fr' ? 'en' : 'fr')}>{t.language}</button>
        </nav>
      </header>
      <main>
        <Page key={route.join('/')} route={route} />
      </main>
    </>
  );
}

function Page({ route }: { route: string[] }) {
  const [page, arg] = route;
  switch (page) {
    case 'course': return <CoursePage slug={arg} />;
    case 'register': return <Register />;
    case 'signin': return <SignIn />;
    case 'checkout': return <Checkout sessionId={arg} />;
    case 'order': return <OrderPage id={arg} />;
    case 'learning': return <Learning />;
    case 'apply': return <Apply courseId={arg} />;
    case 'privacy': return <Privacy />;
    default: return <Catalogue />;
  }
}

/** Where a signed-out person is sent, and back afterwards. */
export function RequireSignIn({ children }: { children: React.ReactNode }) {
  const { t } = useT();
  const signedIn = !!useSession();
  if (signedIn) return <>{children}</>;
  sessionStorage.setItem('pupitre.next', window.location.hash);
  return (
    <p>
      {t.signInFirst} <a href="#/signin">{t.signIn}</a> · <a href="#/register">{t.register}</a>
    </p>
  );
}
