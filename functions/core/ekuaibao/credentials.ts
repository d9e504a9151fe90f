/** The app credentials 合思 exchanges for an access token. `appSecurity` is a secret: never logged or shown. */
export interface EkuaibaoCredentials {
  appKey: string;
  appSecurity: string;
}

/** Where the client gets credentials from: a constant, or an adapter (env, Secrets Manager) that may be async. */
export type CredentialsSource = () => Promise<EkuaibaoCredentials> | EkuaibaoCredentials;
