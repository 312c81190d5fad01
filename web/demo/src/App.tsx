import { useEffect, useState } from 'react';
import { VisitCounter } from '@tally/react';

// Where Tally runs: by default the server this page came from.
const apiUrl: string = import.meta.env.VITE_TALLY_API ?? window.location.origin;
const site: string = import.meta.env.VITE_TALLY_SITE ?? 'demo';
const apiKey: string | undefined = import.meta.env.VITE_TALLY_API_KEY || undefined;
const base = import.meta.env.BASE_URL; // "/demo/"

type Route = 'about' | 'projects';

// Hash routes, so the static host needs no rewrites: "#/projects".
function currentRoute(): Route {
  return window.location.hash === '#/projects' ? 'projects' : 'about';
}

function useRoute(): Route {
  const [route, setRoute] = useState<Route>(currentRoute);
  useEffect(() => {
    const onChange = () => setRoute(currentRoute());
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export function App() {
  const route = useRoute();
  // Each client-side route is its own counter: "/demo/" and "/demo/projects".
  const page = route === 'about' ? base : `${base}projects`;
  return (
    <div className="page">
      <header className="hero">
        <div>
          <h1>Ada Example</h1>
          <p className="role">Cloud engineer · C++ · AWS</p>
        </div>
        <div className="counter" aria-label="visits of this page">
          <VisitCounter
            site={site}
            apiUrl={apiUrl}
            apiKey={apiKey}
            page={page}
            fallback="—"
            className="counter-number"
          />
          <span className="counter-label">visits of this page</span>
          <span className="counter-today">
            today:{' '}
            <VisitCounter site={site} apiUrl={apiUrl} apiKey={apiKey} page={page} value="today-hits" />
          </span>
        </div>
      </header>
      <nav>
        <a href="#/" aria-current={route === 'about' ? 'page' : undefined}>
          About
        </a>
        <a href="#/projects" aria-current={route === 'projects' ? 'page' : undefined}>
          Projects
        </a>
      </nav>
      <main>{route === 'about' ? <About /> : <Projects />}</main>
      <footer>
        <p>
          The counter above is <code>&lt;VisitCounter site="{site}" apiUrl=… /&gt;</code> from{' '}
          <code>@tally/react</code>; it counts each page view once, also when you switch tabs
          here. Plain HTML? See <a href={`${base}plain.html`}>the counter.js page</a>. Site
          owners: <a href="/dashboard/">the dashboard</a>.
        </p>
        <pre>
          <code>{`<script src="${apiUrl}/counter.js" data-site="${site}" async></script>`}</code>
        </pre>
        <p>
          <img
            src={`${apiUrl}/v1/sites/${site}/badge.svg?key=${encodeURIComponent(base)}`}
            alt="visits badge"
            height={20}
          />
        </p>
      </footer>
    </div>
  );
}

function About() {
  return (
    <>
      <section>
        <h2>About</h2>
        <p>
          I build small, fast backends. This résumé is a static site; its visit counter is served
          by Tally, a C++ service that writes every counted visit to disk before it answers.
        </p>
      </section>
      <section>
        <h2>Experience</h2>
        <ul className="timeline">
          <li>
            <strong>Senior engineer, Example Corp</strong> <span>2021 – now</span>
            <p>Event pipelines on AWS Lambda and DynamoDB; p99 latency cut by 60 %.</p>
          </li>
          <li>
            <strong>Engineer, Sample GmbH</strong> <span>2017 – 2021</span>
            <p>High-throughput HTTP services in modern C++; on-call for 40 services.</p>
          </li>
        </ul>
      </section>
      <section>
        <h2>Certifications</h2>
        <p>AWS Certified Cloud Practitioner · AWS Certified Solutions Architect – Associate</p>
      </section>
    </>
  );
}

function Projects() {
  return (
    <section>
      <h2>Projects</h2>
      <ul className="timeline">
        <li>
          <strong>Cloud Résumé Challenge</strong>
          <p>This site: S3 + CloudFront, API Gateway, Lambda, DynamoDB, deployed with SAM.</p>
        </li>
        <li>
          <strong>Tally</strong>
          <p>A durable visitor counter in C++20, with a React component and SVG badges.</p>
        </li>
      </ul>
    </section>
  );
}
