/// <reference types="vite/client" />

interface ImportMetaEnv {
  readonly VITE_TALLY_API?: string;
  readonly VITE_TALLY_SITE?: string;
  readonly VITE_TALLY_API_KEY?: string;
}
